//! Building, starting, controlling and stopping a gateway.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::{get, post, put};
use axum::Router;
use doudian_sdk::SignMethod;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::churn::ChurnChange;
use crate::control;
use crate::counters::{Counters, LiveCounters};
use crate::envelope::LogIds;
pub use crate::error::GatewayError;
use crate::faults::{FaultId, FaultRule, FaultSet};
use crate::imagex;
use crate::listener::{serve, Limits};
use crate::push::{PushDelivery, PushRecord, RefundEvent, TradeEvent};
use crate::quota::Quotas;
use crate::random::Rng;
use crate::server::handle;
use crate::shop::{OrderStatus, Shop, DEFAULT_SEARCH_CAP, MAX_EXTRA_ORDERS};
use crate::state::{Config, Inner};
use crate::time::Clock;
use crate::tokens::{Grant, TokenPolicy, Tokens};
use crate::uploads::{StoredObject, Uploads};

/// The app key a gateway accepts unless told otherwise.
pub const DEFAULT_APP_KEY: &str = "7300000000000000001";
/// The app secret a gateway accepts unless told otherwise.
pub const DEFAULT_APP_SECRET: &str = "00000000-gateway-secret-0000-000000000000";
/// The shop a gateway serves unless told otherwise.
pub const DEFAULT_SHOP_ID: i64 = 4_463_798;

/// The most shops one gateway serves ([`GatewayBuilder::shops`]).
pub const MAX_SHOPS: usize = 1_000;

/// Entry point: `Gateway::builder()...start().await`.
#[derive(Debug)]
pub struct Gateway;

impl Gateway {
    /// A builder with the defaults: [`DEFAULT_APP_KEY`] / [`DEFAULT_APP_SECRET`], shop
    /// [`DEFAULT_SHOP_ID`], `127.0.0.1` on an ephemeral port, the platform's lifetimes
    /// (access token 7 days, refresh token 14 days, refresh window and rotation grace 1 h,
    /// authorisation codes 10 min), a 10 minute timestamp window and the seeded shop.
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder::default()
    }

    /// Starts a gateway with the defaults.
    pub async fn start() -> Result<RunningGateway, GatewayError> {
        Self::builder().start().await
    }
}

/// Configures a gateway. Every setter has a platform-like default. `Debug` hides the
/// app secret.
#[derive(Clone)]
#[must_use]
pub struct GatewayBuilder {
    app_key: String,
    app_secret: String,
    shop_id: i64,
    shop_name: String,
    addr: SocketAddr,
    policy: TokenPolicy,
    timestamp_skew: Duration,
    seed: bool,
    awaiting_orders: usize,
    method_qps: BTreeMap<String, u32>,
    freeze_quotas: bool,
    webhook: Option<String>,
    limits: Limits,
    lenient_sign: bool,
    max_upload_bytes: u64,
    shops: usize,
    churn_rate: f64,
    churn_seed: Option<u64>,
    push_drop: f64,
    search_cap: usize,
}

impl std::fmt::Debug for GatewayBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayBuilder")
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .field("shop_id", &self.shop_id)
            .field("addr", &self.addr)
            .field("policy", &self.policy)
            .field("seed", &self.seed)
            .field("awaiting_orders", &self.awaiting_orders)
            .field("method_qps", &self.method_qps)
            .field("webhook", &self.webhook)
            .field("limits", &self.limits)
            .field("lenient_sign", &self.lenient_sign)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("shops", &self.shops)
            .field("churn_rate", &self.churn_rate)
            .field("churn_seed", &self.churn_seed)
            .field("push_drop", &self.push_drop)
            .field("search_cap", &self.search_cap)
            .finish_non_exhaustive()
    }
}

impl Default for GatewayBuilder {
    fn default() -> Self {
        GatewayBuilder {
            app_key: DEFAULT_APP_KEY.to_owned(),
            app_secret: DEFAULT_APP_SECRET.to_owned(),
            shop_id: DEFAULT_SHOP_ID,
            shop_name: "抖店示例店铺".to_owned(),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            policy: TokenPolicy {
                access_ttl: Duration::from_secs(7 * 24 * 3600),
                refresh_ttl: Duration::from_secs(14 * 24 * 3600),
                refresh_window: Duration::from_secs(3600),
                rotation_grace: Duration::from_secs(3600),
                auth_code_ttl: Duration::from_secs(600),
            },
            timestamp_skew: Duration::from_secs(600),
            seed: true,
            awaiting_orders: 0,
            method_qps: BTreeMap::new(),
            freeze_quotas: false,
            webhook: None,
            limits: Limits::default(),
            lenient_sign: false,
            max_upload_bytes: 64 * 1024 * 1024,
            shops: 1,
            churn_rate: 0.0,
            churn_seed: None,
            push_drop: 0.0,
            search_cap: DEFAULT_SEARCH_CAP,
        }
    }
}

impl GatewayBuilder {
    /// The app key the gateway accepts.
    pub fn app_key(mut self, app_key: impl Into<String>) -> Self {
        self.app_key = app_key.into();
        self
    }

    /// The app secret requests must be signed with.
    pub fn app_secret(mut self, app_secret: impl Into<String>) -> Self {
        self.app_secret = app_secret.into();
        self
    }

    /// The shop the gateway serves (self-use token.create must name it).
    pub fn shop_id(mut self, shop_id: i64) -> Self {
        self.shop_id = shop_id;
        self
    }

    /// The shop's name, as token replies and orders show it.
    pub fn shop_name(mut self, shop_name: impl Into<String>) -> Self {
        self.shop_name = shop_name.into();
        self
    }

    /// Listen on `port` of 127.0.0.1 (0 = any free port, the default).
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    /// Listen on `addr` (the default is 127.0.0.1 on a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Access token lifetime (7 days).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.policy.access_ttl = ttl;
        self
    }

    /// Refresh token lifetime (14 days).
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.policy.refresh_ttl = ttl;
        self
    }

    /// The last part of an access token's life in which token.refresh rotates the pair
    /// (1 hour); earlier refreshes return the same pair.
    pub fn refresh_window(mut self, window: Duration) -> Self {
        self.policy.refresh_window = window;
        self
    }

    /// How long a rotated-out pair stays valid (1 hour).
    pub fn rotation_grace(mut self, grace: Duration) -> Self {
        self.policy.rotation_grace = grace;
        self
    }

    /// Authorisation code lifetime (10 minutes).
    pub fn auth_code_ttl(mut self, ttl: Duration) -> Self {
        self.policy.auth_code_ttl = ttl;
        self
    }

    /// How far a request timestamp may be from the gateway's clock (10 minutes).
    pub fn timestamp_skew(mut self, skew: Duration) -> Self {
        self.timestamp_skew = skew;
        self
    }

    /// Start with an empty shop instead of the seeded working set.
    pub fn empty_shop(mut self) -> Self {
        self.seed = false;
        self
    }

    /// Adds `n` more orders awaiting shipment (`order_status` 2) to the seeded shop, for
    /// batch-shipping runs; the last call counts, 0 (the default) adds none. They look like
    /// the seeded orders (one or two SKU orders of the products on sale, 1–3 pieces,
    /// amounts, receivers, paid two minutes after creation), appear in `order.searchList`
    /// (status filter, paging, newest first) and ship through `order.logisticsAdd` like
    /// them. Deterministic: the k-th (from 0) has id `6928371650000000000 + 10·k` (its SKU
    /// orders + 1, + 2), clear of the seeded ids, and was created 5 minutes + 13 s·k before
    /// start-up, so the newest come before the seeded orders and the rest interleave with
    /// them. The seeded shop stays as it is (its 20 orders awaiting shipment included).
    /// At most 1,000,000; not with [`empty_shop`](Self::empty_shop) (the orders need
    /// products), which [`start`](Self::start) refuses.
    pub fn awaiting_orders(mut self, n: usize) -> Self {
        self.awaiting_orders = n;
        self
    }

    /// Limits `method` to `calls_per_second` for all clients together, as the platform's
    /// per-app quota does: a call over the limit is answered `60000 isv.traffic-limited`
    /// and not processed (it changes nothing and ships nothing), and is counted in the
    /// reply codes like an injected 60000 ([`Counters::codes`], `GET /_mock/stats`) and in
    /// [`Counters::throttled`]. Call once per method; a second call for the same method
    /// replaces its limit. Methods without a limit are never throttled.
    ///
    /// A token bucket per method: one second's worth (`calls_per_second` calls) may come
    /// at once, then `calls_per_second` a second, by real monotonic time (moving the
    /// gateway's clock does not refill it). Only authenticated calls count: a call refused
    /// for its signature, timestamp, app key, method or token is neither throttled nor
    /// charged. [`start`](Self::start) refuses 0 and methods the gateway does not know.
    pub fn method_qps(mut self, method: impl Into<String>, calls_per_second: u32) -> Self {
        self.method_qps.insert(method.into(), calls_per_second);
        self
    }

    /// Stops the quotas' time at the start: each bucket admits its first second's worth
    /// and then nothing, however long the calls take, until
    /// [`RunningGateway::advance_quotas`] moves their time on. For tests that count what a
    /// quota admits on a machine too busy for real time to mean anything.
    pub fn freeze_quotas(mut self) -> Self {
        self.freeze_quotas = true;
        self
    }

    /// Push trade and after-sale events caused by calls (shipping: tag 102, remarks: 113,
    /// after-sale handling: 202/204/206) to this webhook URL.
    pub fn webhook(mut self, url: impl Into<String>) -> Self {
        self.webhook = Some(url.into());
        self
    }

    /// Also accept a sign computed over the body exactly as received (not canonicalised):
    /// for clients that sign their own serialisation. Off by default, as on the platform.
    pub fn lenient_sign(mut self, lenient: bool) -> Self {
        self.lenient_sign = lenient;
        self
    }

    /// The whole request head (line and headers) must arrive within this (default 10 s).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// A connection on which no byte moves for this long is closed: idle keep-alive
    /// connections and stalled clients (default 60 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// The whole request body must arrive within this, or the call is refused with 408
    /// (default 30 s).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_timeout = timeout;
        self
    }

    /// At most this many connections are open at once; more are answered 503 in the
    /// platform's envelope and closed (default 4096).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.limits.max_connections = max.max(1);
        self
    }

    /// The largest request body; larger ones are refused with 413 (default 16 MiB).
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.limits.max_body_bytes = max;
        self
    }

    /// The largest material a PUT may store (default 64 MiB, above the SDK's 20 MiB
    /// default so that the client's limit is the one that bites); more is refused with 413.
    pub fn max_upload_bytes(mut self, max: u64) -> Self {
        self.max_upload_bytes = max;
        self
    }

    /// Serve `n` shops (default 1): the gateway's own shop ([`shop_id`](Self::shop_id),
    /// with the seeded working set) and `n - 1` more with the ids that follow it
    /// (`shop_id + 1`, ...), each with the seeded products and no orders of their own
    /// until [`awaiting_orders`](Self::awaiting_orders) or churn gives them some. A token
    /// acts on the shop it was granted for (self-use `token.create` takes any of them;
    /// [`RunningGateway::mint_auth_code`] too). [`start`](Self::start) refuses 0 and more
    /// than 1,000.
    pub fn shops(mut self, n: usize) -> Self {
        self.shops = n;
        self
    }

    /// Move `rate` orders a second along their life cycle (default 0, still): paid,
    /// shipped, completed, some cancelled or refunded, new orders created; each change sets
    /// the order's `update_time` to the gateway's clock and pushes its message (tags 100,
    /// 101, 102, 103, 106, 200, 206) to the [`webhook`](Self::webhook) when one is set.
    /// Kept by tokio time; [`RunningGateway::set_churn_rate`] and `POST /_mock/churn`
    /// change it at run time, [`RunningGateway::churn_steps`] takes exact steps.
    /// [`start`](Self::start) refuses a negative or non-finite rate.
    pub fn churn(mut self, rate: f64) -> Self {
        self.churn_rate = rate;
        self
    }

    /// Draw churn's choices from a fixed seed: the same seed and the same requests give
    /// the same changes (default: a random seed).
    pub fn churn_seed(mut self, seed: u64) -> Self {
        self.churn_seed = Some(seed);
        self
    }

    /// Drop this share (0 to 1) of webhook push records without sending them, as lost
    /// pushes (default 0). Applies to every push the gateway makes by itself (churn and
    /// calls); counted in [`Counters::pushes_dropped`]. [`start`](Self::start) refuses a
    /// share outside 0..=1.
    pub fn push_drop(mut self, share: f64) -> Self {
        self.push_drop = share;
        self
    }

    /// How many orders one `order.searchList` filter reaches (default 50,000, the
    /// platform's): `total` still counts every match, a page starting at or past the cap is
    /// refused with `isv.parameter-invalid`. [`start`](Self::start) refuses 0.
    pub fn search_cap(mut self, cap: usize) -> Self {
        self.search_cap = cap;
        self
    }

    /// Binds the socket and starts serving in the background of the current tokio runtime.
    pub async fn start(self) -> Result<RunningGateway, GatewayError> {
        if self.app_key.is_empty() || self.app_secret.is_empty() {
            return Err(GatewayError::Config("app_key and app_secret must not be empty".to_owned()));
        }
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .map_err(|source| GatewayError::Bind { addr: self.addr, source })?;
        let addr = listener.local_addr().map_err(|source| GatewayError::Bind { addr: self.addr, source })?;
        let inner = Arc::new(self.into_inner(addr)?);
        let router = Router::new()
            .route("/_mock/stats", get(control::stats))
            .route("/_mock/clock", post(control::clock))
            .route("/_mock/churn", get(control::churn_status).post(control::churn))
            .route("/_mock/orders", get(control::orders))
            .route("/_mock/webhook", post(control::webhook))
            .route("/_mock/faults", get(control::list_faults).post(control::add_fault).delete(control::clear_faults))
            .route("/_imagex/", get(imagex::apply))
            .route(&format!("/{}/{{object}}", imagex::STORE_PREFIX), put(imagex::put_object))
            .fallback(handle)
            .with_state(inner.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        let for_refusals = inner.clone();
        let refusal: crate::listener::Refusal = Arc::new(move |failure| {
            crate::envelope::failure(&for_refusals.log_ids.next(for_refusals.clock.now_ms()), failure)
        });
        tokio::spawn(crate::churn::run(inner.clone(), stop_rx.clone()));
        let task = tokio::spawn(serve(listener, router, inner.config.limits, refusal, stop_rx));
        tracing::info!(%addr, "doudian gateway listening");
        Ok(RunningGateway { inner, addr, stop: stop_tx, task: Some(task) })
    }

    /// The shared state of a gateway built from these settings.
    fn into_inner(self, addr: SocketAddr) -> Result<Inner, GatewayError> {
        if let Some((method, _)) = self.method_qps.iter().find(|(_, qps)| **qps == 0) {
            return Err(GatewayError::Config(format!("method_qps for `{method}` must be at least 1 call per second")));
        }
        if let Some(method) = self.method_qps.keys().find(|m| !crate::methods::is_known(m)) {
            return Err(GatewayError::Config(format!(
                "method_qps names `{method}`, which the gateway does not know (not a method of the spec; a typo?)"
            )));
        }
        if self.awaiting_orders > MAX_EXTRA_ORDERS {
            return Err(GatewayError::Config(format!(
                "awaiting_orders is at most {MAX_EXTRA_ORDERS}, got {}",
                self.awaiting_orders
            )));
        }
        if self.awaiting_orders > 0 && !self.seed {
            return Err(GatewayError::Config(
                "awaiting_orders needs the seeded shop's products; it cannot be combined with empty_shop".to_owned(),
            ));
        }
        if !(1..=MAX_SHOPS).contains(&self.shops) {
            return Err(GatewayError::Config(format!("shops must be 1 to {MAX_SHOPS}, got {}", self.shops)));
        }
        if self.shop_id.checked_add(self.shops as i64).is_none() {
            return Err(GatewayError::Config(format!("shop ids from {} on overflow", self.shop_id)));
        }
        let churn_rate = crate::churn::check_rate(self.churn_rate).map_err(GatewayError::Config)?;
        let push_drop = crate::churn::check_share(self.push_drop).map_err(GatewayError::Config)?;
        if self.search_cap == 0 {
            return Err(GatewayError::Config("search_cap must be at least 1".to_owned()));
        }
        let rng = Rng::from_entropy();
        let clock = Clock::default();
        let now = (clock.now_ms() / 1000) as i64;
        let mut shops = BTreeMap::new();
        for slot in 0..self.shops {
            let shop_id = self.shop_id + slot as i64;
            let name = if slot == 0 { self.shop_name.clone() } else { format!("店铺{shop_id}") };
            let mut shop = match (slot, self.seed) {
                (_, false) => Shop::empty(shop_id, name),
                (0, true) => Shop::seeded(shop_id, name, now),
                (_, true) => Shop::with_products(shop_id, name, now),
            };
            if self.seed {
                shop.add_awaiting_orders(self.awaiting_orders, now, slot, self.shops).map_err(GatewayError::Config)?;
            }
            shops.insert(shop_id, Mutex::new(shop));
        }
        let churn_rng = self.churn_seed.map_or_else(|| Rng::seeded(rng.next_u64()), Rng::seeded);
        Ok(Inner {
            log_ids: LogIds::new(rng.next_u64()),
            config: Config {
                app_key: self.app_key,
                app_secret: self.app_secret,
                shop_id: self.shop_id,
                shop_name: self.shop_name,
                timestamp_skew_ms: self.timestamp_skew.as_millis() as u64,
                limits: self.limits,
                lenient_sign: self.lenient_sign,
                addr,
                max_upload_bytes: self.max_upload_bytes,
                search_cap: self.search_cap,
            },
            clock,
            rng,
            tokens: Mutex::new(Tokens::new(self.policy)),
            shops,
            churn: crate::churn::Churn::new(churn_rate, push_drop, churn_rng),
            uploads: Mutex::new(Uploads::default()),
            faults: FaultSet::default(),
            quotas: Quotas::new(&self.method_qps, self.freeze_quotas),
            counters: LiveCounters::default(),
            webhook: Mutex::new(self.webhook),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| GatewayError::Config(format!("HTTP client for pushes: {e}")))?,
        })
    }
}

/// A token issued by the gateway (see [`RunningGateway::issue_token`]). `Debug` hides both
/// tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The access token.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

#[cfg(test)]
impl Inner {
    /// The state of a gateway with the default settings, not serving.
    pub(crate) fn for_tests() -> Inner {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        GatewayBuilder::default().into_inner(addr).expect("the default settings build")
    }
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// What the gateway holds about one order (for assertions).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrderSnapshot {
    /// The order id.
    pub order_id: String,
    /// Its status.
    pub status: OrderStatus,
    /// The tracking number of its shipment, once shipped.
    pub tracking_no: Option<String>,
    /// The logistics company code of its shipment, once shipped.
    pub company_code: Option<String>,
    /// The seller's remark.
    pub seller_words: String,
    /// The remark star flag.
    pub seller_remark_stars: i64,
}

/// One order as `GET /_mock/orders` lists it ([`RunningGateway::orders_dump`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct OrderRow {
    /// The shop of the order.
    pub shop_id: i64,
    /// The order id.
    pub order_id: String,
    /// `order_status` (1 awaiting payment, 2 awaiting shipment, 3 shipped, 4 cancelled,
    /// 5 completed).
    pub order_status: i64,
    /// `update_time` (Unix seconds).
    pub update_time: i64,
}

/// What the gateway holds about one product (for assertions).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProductSnapshot {
    /// The product id.
    pub product_id: i64,
    /// Its name.
    pub name: String,
    /// 0 on sale, 1 off the shelf, 2 deleted.
    pub status: i64,
    /// How many SKUs it has.
    pub sku_count: usize,
}

/// A gateway serving on loopback. Dropping it stops the server.
pub struct RunningGateway {
    inner: Arc<Inner>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningGateway")
            .field("addr", &self.addr)
            .field("app_key", &self.inner.config.app_key)
            .field("shop_id", &self.inner.config.shop_id)
            .finish_non_exhaustive()
    }
}

impl RunningGateway {
    /// `http://127.0.0.1:PORT` — the base URL to give a client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The app key the gateway accepts.
    pub fn app_key(&self) -> &str {
        &self.inner.config.app_key
    }

    /// The app secret requests must be signed with.
    pub fn app_secret(&self) -> &str {
        &self.inner.config.app_secret
    }

    /// The shop served.
    pub fn shop_id(&self) -> i64 {
        self.inner.config.shop_id
    }

    /// Stops accepting calls, lets calls in flight finish (at most 2 s), and waits.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task).await.is_err() {
                abort.abort();
            }
        }
    }

    /// Serves until [`RunningGateway::shutdown`] is called from elsewhere or the task
    /// ends: what `doudian mock` runs.
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    // ---- counters ----

    /// A snapshot of every counter.
    pub fn counters(&self) -> Counters {
        self.inner.counters.snapshot()
    }

    /// Sets every counter back to zero.
    pub fn reset_counters(&self) {
        self.inner.counters.reset();
    }

    /// How many calls of `method` arrived.
    pub fn calls(&self, method: &str) -> u64 {
        self.inner.counters.update(|c| c.method(method).received)
    }

    /// How many order.logisticsAdd calls named `order_id` (successful or not).
    pub fn ship_calls(&self, order_id: &str) -> u64 {
        self.inner.counters.update(|c| c.ship_calls.get(order_id).copied().unwrap_or(0))
    }

    /// How many times `order_id` was actually shipped (0 or 1 unless something is wrong).
    pub fn shipments(&self, order_id: &str) -> u64 {
        self.inner.counters.update(|c| c.shipments.get(order_id).copied().unwrap_or(0))
    }

    // ---- faults ----

    /// Switches a fault rule on; it stays until its count runs out or it is removed.
    pub fn inject(&self, rule: FaultRule) -> FaultId {
        self.inner.faults.add(rule)
    }

    /// Switches one rule off. False if it was already gone.
    pub fn remove_fault(&self, id: FaultId) -> bool {
        self.inner.faults.remove(id)
    }

    /// Switches every fault off.
    pub fn clear_faults(&self) {
        self.inner.faults.clear();
    }

    /// The rules still active.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.inner.faults.active()
    }

    // ---- tokens and time ----

    /// Mints a single-use authorisation code for `shop_id`, as the platform's authorisation
    /// redirect would give a tool app (valid for the auth code lifetime).
    pub fn mint_auth_code(&self, shop_id: i64) -> String {
        let grant = self.grant_for(shop_id);
        let now = self.inner.clock.now_ms();
        self.inner.tokens().mint_code(grant, now, &self.inner.rng)
    }

    /// Every token pair issued so far (by token.create, token.refresh or
    /// [`issue_token`](Self::issue_token)), oldest first; `expires_in` is 0 here.
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        let pairs = self.inner.tokens().issued();
        pairs
            .into_iter()
            .map(|(access_token, refresh_token)| IssuedToken { access_token, refresh_token, expires_in: 0 })
            .collect()
    }

    /// Issues a token for the gateway's shop without a call.
    pub fn issue_token(&self) -> IssuedToken {
        self.issue(self.inner.config.shop_id)
    }

    /// Issues a token for shop `shop_id` of a multi-shop gateway ([`GatewayBuilder::shops`])
    /// without a call; refuses a shop the gateway does not serve.
    pub fn issue_token_for_shop(&self, shop_id: i64) -> Result<IssuedToken, GatewayError> {
        if !self.inner.shops.contains_key(&shop_id) {
            return Err(GatewayError::Config(format!("the gateway serves no shop {shop_id}")));
        }
        Ok(self.issue(shop_id))
    }

    fn issue(&self, shop_id: i64) -> IssuedToken {
        let grant = self.grant_for(shop_id);
        let now = self.inner.clock.now_ms();
        let data = self.inner.tokens().issue(grant, now, &self.inner.rng);
        IssuedToken {
            access_token: data["access_token"].as_str().unwrap_or_default().to_owned(),
            refresh_token: data["refresh_token"].as_str().unwrap_or_default().to_owned(),
            expires_in: data["expires_in"].as_u64().unwrap_or_default(),
        }
    }

    /// Makes `access_token` expire now (calls then get `isv.access-token-expired`; its
    /// refresh token still works). False if the token is unknown.
    pub fn expire_token(&self, access_token: &str) -> bool {
        let now = self.inner.clock.now_ms();
        self.inner.tokens().expire_now(access_token, now)
    }

    /// Forgets `access_token` and its refresh token (calls then get
    /// `isv.access-token-no-existed`). False if the token is unknown.
    pub fn revoke_token(&self, access_token: &str) -> bool {
        self.inner.tokens().revoke(access_token)
    }

    /// The gateway's clock: Unix milliseconds, the system clock plus what
    /// [`advance_clock`](Self::advance_clock) and `POST /_mock/clock` added. Order times
    /// (churn's `update_time` included) and token lifetimes follow it.
    pub fn now_ms(&self) -> u64 {
        self.inner.clock.now_ms()
    }

    /// Moves the gateway's clock forward for token and code lifetimes (request timestamps
    /// are still checked against the real clock).
    pub fn advance_clock(&self, by: Duration) {
        self.inner.clock.advance_ms(by.as_millis().min(i64::MAX as u128) as i64);
    }

    /// Moves the time of quotas frozen by [`GatewayBuilder::freeze_quotas`] on by `by`:
    /// each bucket refills what that much time refills. Quotas that follow real time
    /// cannot be moved: that is an error (a test that meant to freeze them did not).
    pub fn advance_quotas(&self, by: Duration) -> Result<(), GatewayError> {
        self.inner.quotas.advance(by).map_err(|why| GatewayError::Config(why.to_owned()))
    }

    fn grant_for(&self, shop_id: i64) -> Grant {
        let shop_name = if shop_id == self.inner.config.shop_id {
            self.inner.config.shop_name.clone()
        } else {
            format!("店铺{shop_id}")
        };
        Grant { shop_id, shop_name, authority_id: shop_id.to_string(), auth_subject_type: String::new() }
    }

    // ---- shop state ----

    /// The order `order_id`, if one of the shops has it.
    pub fn order(&self, order_id: &str) -> Option<OrderSnapshot> {
        let shop = self.inner.shop_with_order(order_id)?;
        let order = shop.orders.get(order_id)?;
        let shipment = order.shipments.first();
        Some(OrderSnapshot {
            order_id: order.order_id.clone(),
            status: order.status,
            tracking_no: shipment.map(|s| s.tracking_no.clone()),
            company_code: shipment.map(|s| s.company.code.to_owned()),
            seller_words: order.seller_words.clone(),
            seller_remark_stars: order.seller_remark_stars,
        })
    }

    /// Every shop served ([`GatewayBuilder::shops`]), the gateway's own first.
    pub fn shop_ids(&self) -> Vec<i64> {
        let own = self.inner.config.shop_id;
        std::iter::once(own).chain(self.inner.shops.keys().copied().filter(|id| *id != own)).collect()
    }

    /// Every order of every shop, sorted by shop and order id: what `GET /_mock/orders`
    /// answers, for comparing a synchronised copy with the gateway.
    pub fn orders_dump(&self) -> Vec<OrderRow> {
        self.inner.orders_dump()
    }

    /// Takes `steps` churn steps now (whatever the rate): each moves one order of a
    /// random shop one step along its life cycle, or creates an order, stamped with the
    /// gateway's clock, and hands its push to the webhook when one is set. Returns the
    /// changes in the order they were made (fewer than `steps` only if a shop had neither
    /// an order to move nor a product to order). Pushes are sent in the background of the
    /// current tokio runtime.
    pub fn churn_steps(&self, steps: usize) -> Vec<ChurnChange> {
        self.inner.churn_steps(steps)
    }

    /// Like [`churn_steps`](Self::churn_steps), spread evenly over `span` of the gateway's
    /// clock, which moves forward by `span` meanwhile (step i at start + i·span/steps): a
    /// test gets "20,000 changes in one hour" at once, each second holding only its share.
    pub fn churn_steps_over(&self, steps: usize, span: Duration) -> Vec<ChurnChange> {
        self.inner.churn_steps_over(steps, span)
    }

    /// Sets the churn rate in changes a second (0 stops it); refuses a negative or
    /// non-finite rate.
    pub fn set_churn_rate(&self, rate: f64) -> Result<(), GatewayError> {
        let rate = crate::churn::check_rate(rate).map_err(GatewayError::Config)?;
        self.inner.churn.set_rate(rate);
        Ok(())
    }

    /// The churn rate in changes a second.
    pub fn churn_rate(&self) -> f64 {
        self.inner.churn.rate()
    }

    /// Churn steps taken so far (by the rate and on request).
    pub fn churn_step_count(&self) -> u64 {
        self.inner.churn.steps()
    }

    /// Sets the share of push records dropped (0 to 1); refuses anything else.
    pub fn set_push_drop(&self, share: f64) -> Result<(), GatewayError> {
        let share = crate::churn::check_share(share).map_err(GatewayError::Config)?;
        self.inner.churn.set_push_drop(share);
        Ok(())
    }

    /// The ids of the orders in `status` in the gateway's own shop, newest first.
    pub fn order_ids(&self, status: OrderStatus) -> Vec<String> {
        let shop = self.inner.shop();
        let mut orders: Vec<_> = shop.orders.values().filter(|o| o.status == status).collect();
        orders.sort_by(|a, b| b.create_time.cmp(&a.create_time).then_with(|| b.order_id.cmp(&a.order_id)));
        orders.into_iter().map(|o| o.order_id.clone()).collect()
    }

    /// Every product, deleted ones included.
    pub fn products(&self) -> Vec<ProductSnapshot> {
        self.inner
            .shop()
            .products
            .values()
            .map(|p| ProductSnapshot {
                product_id: p.product_id,
                name: p.name.clone(),
                status: p.status,
                sku_count: p.skus.len(),
            })
            .collect()
    }

    /// The status of after-sale request `aftersale_id`.
    pub fn after_sale_status(&self, aftersale_id: i64) -> Option<i64> {
        self.inner.shop().after_sales.get(&aftersale_id).map(|a| a.status)
    }

    /// The ids of every after-sale request.
    pub fn after_sale_ids(&self) -> Vec<i64> {
        self.inner.shop().after_sales.keys().copied().collect()
    }

    // ---- uploads ----

    /// The object a material upload stored under `store_uri` (its size and CRC-32; the
    /// gateway does not keep the bytes).
    pub fn stored_object(&self, store_uri: &str) -> Option<StoredObject> {
        self.inner.uploads().object(store_uri)
    }

    // ---- pushes ----

    /// Sets (or clears) the webhook that events caused by calls are pushed to.
    pub fn set_webhook(&self, url: Option<&str>) {
        *self.inner.webhook.lock().unwrap_or_else(|e| e.into_inner()) = url.map(str::to_owned);
    }

    /// Pushes `records` to `url` as the platform does (md5 `event-sign`) and returns what
    /// the webhook answered.
    pub async fn send_push(&self, url: &str, records: &[PushRecord]) -> Result<PushDelivery, GatewayError> {
        self.inner.deliver(url, records, SignMethod::Md5).await
    }

    /// Like [`RunningGateway::send_push`] with a chosen signature (hmac-sha256 is an
    /// unverified variant, PROTOCOL.md §6).
    pub async fn send_push_with(
        &self,
        url: &str,
        records: &[PushRecord],
        sign_method: SignMethod,
    ) -> Result<PushDelivery, GatewayError> {
        self.inner.deliver(url, records, sign_method).await
    }

    /// A push record about order `order_id` (None if no shop has such an order).
    pub fn trade_event(&self, event: TradeEvent, order_id: &str) -> Option<PushRecord> {
        let now = (self.inner.clock.now_ms() / 1000) as i64;
        let data = self.inner.shop_with_order(order_id)?.trade_event_data(event, order_id, now)?;
        Some(PushRecord::new(event.tag().to_string(), self.inner.new_msg_id(), &data))
    }

    /// A push record carrying the spec's sample of a message type, under tag `tag`. `message`
    /// is a tag as text (`"100"`) or, for a type whose tag no copy publishes, its type name
    /// (`"BtasSellerSendOrderToSc"`): how a test sends such a message under the number the
    /// console shows. `None` when the spec has no such message type.
    pub fn sample_push(&self, message: &str, tag: u32) -> Option<PushRecord> {
        let data = crate::samples::message_sample(message)?;
        Some(PushRecord { tag: tag.to_string(), msg_id: self.inner.new_msg_id(), data: data.get().to_owned() })
    }

    /// A push record about after-sale request `aftersale_id` (None if unknown).
    pub fn refund_event(&self, event: RefundEvent, aftersale_id: i64) -> Option<PushRecord> {
        let data = self.inner.shop().refund_event_data(event, aftersale_id)?;
        Some(PushRecord::new(event.tag().to_string(), self.inner.new_msg_id(), &data))
    }
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
