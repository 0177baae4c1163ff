//! The order synchroniser (cargo feature `sync`): every order of every shop in the
//! application's own store, exactly once, through crashes and lost pushes.
//!
//! ```no_run
//! # #[cfg(feature = "sql")]
//! # async fn run(client: doudian_sdk::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use doudian_sdk::sync::{sql::SqlSink, OrderSync};
//!
//! let sink = SqlSink::connect("sqlite:orders.db").await?;
//! let sync = OrderSync::builder(sink).shop(client).build()?;
//! sync.sync_all().await;   // up to now, from the last checkpoint (or 90 days back)
//! sync.follow().await;     // then poll forever (pushes: `OrderSync::apply_push`)
//! # Ok(()) }
//! ```
//!
//! # How it reads
//!
//! Each pass of a shop lists `order.searchList` by `update_time` ascending, 100 a page,
//! from the shop's checkpoint minus an overlap (default 2 minutes: the platform's search
//! index lags its writes a little) up to one second before now (the current second is
//! still filling). The platform's rules shape the windows:
//!
//! * **90 days.** No window reaches back past 90 days (a minute's margin for clock skew).
//!   A checkpoint older than that (a process stopped for three months) leaves a gap that
//!   polling cannot read; the pass reports it in [`PassReport::gap`].
//! * **The per-filter cap.** One filter reaches at most 50,000 orders
//!   ([`OrderSyncBuilder::search_cap`]): a window whose `total` reaches the cap is cut in
//!   halves until it fits; the width that fitted is where the next window starts, doubled
//!   while windows come back well under the cap.
//! * **Latency.** Each call waits for the one before (its window starts where that page
//!   ended), so a long range is cut into time slices read concurrently
//!   ([`OrderSyncBuilder::concurrency`], default 4); the checkpoint follows the slices
//!   completed in order, so a crash re-reads at most the slices after the first unfinished
//!   one.
//! * **Pages shift under a moving shop.** Paging a fixed filter by offset skips an order
//!   whenever an earlier one changes (it leaves the window, and the rest move up a place).
//!   So the reader never pages a window by offset: after each full page it asks again for
//!   page 0 from the last `update_time` of the page. Only a second that holds more orders
//!   than a page is read by offset, and it is read again from its first page until one
//!   reading sees the same `total` on every page.
//!
//! # The checkpoint
//!
//! A [`Checkpoint`] is `(update_time, complete)`: with `complete` every order whose
//! `update_time` is at or before that second is stored; without it every order *before*
//! that second is, and some of that second's may not be. A full page whose last order was
//! changed in second `t` reaches `(t, incomplete)`: the page holds every order of the
//! window before `t` (the list is ascending), but `t` may go on past the page. The end of
//! a window reaches `(end, complete)`, and so does a second read through all its pages.
//! A crash can happen anywhere: orders and the checkpoint they reach are stored together
//! ([`SyncSink::store`], one transaction in [`sql::SqlSink`]), so the stored checkpoint
//! never claims an order that is not stored, and the next run resumes at it (from the
//! second itself when incomplete, the next one when complete; minus the overlap). The
//! checkpoint only moves forward.
//!
//! Orders read again (the overlap, the incomplete second, a resumed window) are dropped
//! by `(order_id, update_time)` against what this process handed to the sink recently,
//! and the sink keeps whichever version has the newer `update_time`, so a re-read or a
//! late push never puts an older version over a newer one. `update_time` is in whole
//! seconds and an order can change twice within one (paid, then a remark): the versions
//! handed over are also told apart by a fingerprint of their content, so the second
//! change of a second is stored when a push or the next pass reads it, never dropped as
//! the version already seen.
//!
//! # Pushes
//!
//! [`OrderSync::apply_push`] takes a verified push record: the trade (`1xx`) and refund
//! (`2xx`) tags carry the order id (`p_id`) and `shop_id`; the order is read with
//! `order.orderDetail` and handed to the same sink (without moving the checkpoint), so a
//! change shows up in seconds. Polling catches what pushes missed.
//!
//! Every call goes through the shops' [`Client`]s, so through their rate limiter, retry
//! policy and token store; many shops run concurrently within one limiter. The orders are
//! stored as the platform sent them: the encrypted receiver fields stay encrypted.

mod memory;
mod push;
mod reader;
#[cfg(feature = "sql")]
#[cfg_attr(docsrs, doc(cfg(feature = "sql")))]
pub mod sql;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;

use crate::api::order::{Order, OrderOrderDetailRequest};
use crate::push::PushRecord;
use crate::Client;

pub use memory::MemorySink;
pub use push::PushOrder;

/// The platform's look-back: `order.searchList` reaches 90 days.
pub const LOOKBACK: Duration = Duration::from_secs(90 * 24 * 3600);
/// The platform's per-filter cap: one filter reaches at most 50,000 orders.
pub const DEFAULT_SEARCH_CAP: i64 = 50_000;
/// The default re-read behind the checkpoint on every pass.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(120);
/// The default (and largest) page size of `order.searchList`.
pub const DEFAULT_PAGE_SIZE: i64 = 100;
/// The default number of windows of one shop read at once.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The default pause between passes of [`OrderSync::follow`].
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(15);

/// How far the synchroniser stays inside the 90 days, for clocks that disagree a little.
const LOOKBACK_MARGIN: i64 = 60;

/// An error of a sink, kept whole.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// How far a shop's orders are stored (see the [module docs](self#the-checkpoint)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Checkpoint {
    /// Unix seconds, the platform's `update_time`.
    pub update_time: i64,
    /// Whether every order of `update_time` itself is stored too.
    pub complete: bool,
}

impl Checkpoint {
    /// Every order changed before `update_time` is stored (none of that second is known).
    pub fn before(update_time: i64) -> Self {
        Checkpoint { update_time, complete: false }
    }

    /// Every order changed at or before `update_time` is stored.
    pub fn through(update_time: i64) -> Self {
        Checkpoint { update_time, complete: true }
    }

    /// The first second not known to be stored completely: where reading resumes.
    pub fn resume_from(&self) -> i64 {
        if self.complete {
            self.update_time.saturating_add(1)
        } else {
            self.update_time
        }
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.complete { "through" } else { "before" };
        write!(f, "{how} {}", self.update_time)
    }
}

/// Where the synchroniser keeps orders and checkpoints: [`sql::SqlSink`] (feature `sql`),
/// [`MemorySink`], or the application's own store.
pub trait SyncSink: Send + Sync + 'static {
    /// Stores `orders` of `shop` and, when given, moves the shop's checkpoint to
    /// `checkpoint`, atomically: after a crash either both are stored or neither.
    ///
    /// A stored order is replaced only by a version whose `update_time` is the same or
    /// newer; a checkpoint only moves forward. `orders` may be empty (the checkpoint moves
    /// alone); `checkpoint` is `None` for orders read for a push.
    fn store<'a>(
        &'a self,
        shop: &'a str,
        orders: &'a [Order],
        checkpoint: Option<Checkpoint>,
    ) -> BoxFuture<'a, Result<(), SinkError>>;

    /// The shop's stored checkpoint, `None` before its first store.
    fn checkpoint<'a>(&'a self, shop: &'a str) -> BoxFuture<'a, Result<Option<Checkpoint>, SinkError>>;
}

impl<S: SyncSink> SyncSink for Arc<S> {
    fn store<'a>(
        &'a self,
        shop: &'a str,
        orders: &'a [Order],
        checkpoint: Option<Checkpoint>,
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        (**self).store(shop, orders, checkpoint)
    }

    fn checkpoint<'a>(&'a self, shop: &'a str) -> BoxFuture<'a, Result<Option<Checkpoint>, SinkError>> {
        (**self).checkpoint(shop)
    }
}

/// What went wrong in a pass, a refresh or the set-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A call to the platform failed (after the client's retries).
    #[error("shop {shop}: {source}")]
    Api {
        /// The shop.
        shop: String,
        /// The client's error.
        #[source]
        source: crate::Error,
    },
    /// The sink failed to store or read.
    #[error("the sink failed for shop {shop}: {source}")]
    Sink {
        /// The shop.
        shop: String,
        /// The sink's error.
        #[source]
        source: SinkError,
    },
    /// One second holds more orders than one filter can reach: they cannot all be read.
    #[error(
        "shop {shop}: {total} orders changed in the second {second}, more than one filter reaches ({cap}); \
         the rest of that second cannot be listed"
    )]
    SecondOverCap {
        /// The shop.
        shop: String,
        /// The second, Unix seconds.
        second: i64,
        /// The orders the platform counted in it.
        total: i64,
        /// The per-filter cap.
        cap: i64,
    },
    /// The platform's answer lacks what the synchroniser needs (an order, its id or its
    /// `update_time`).
    #[error("shop {shop}: {message}")]
    Incomplete {
        /// The shop.
        shop: String,
        /// What is missing.
        message: String,
    },
    /// A shop the synchroniser was not given.
    #[error("shop {0} is not one of the synchroniser's shops")]
    UnknownShop(String),
    /// A setting out of range, or a client without a shop.
    #[error("order sync configuration: {0}")]
    Config(String),
}

/// What one pass over a shop did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PassReport {
    /// The shop.
    pub shop: String,
    /// Orders handed to the sink.
    pub stored: u64,
    /// Orders read again and dropped by `(order_id, update_time)` (or older than a
    /// version already handed over).
    pub duplicates: u64,
    /// Orders without an `order_id` or `update_time`, which cannot be stored.
    pub malformed: u64,
    /// `order.searchList` calls.
    pub calls: u64,
    /// Windows cut in half because their `total` reached the per-filter cap.
    pub splits: u64,
    /// Time slices the range was cut into to be read concurrently (1: read as one).
    pub slices: u64,
    /// Seconds that held more orders than a page and were read by offset.
    pub crowded_seconds: u64,
    /// The checkpoint reached.
    pub checkpoint: Option<Checkpoint>,
    /// Seconds `[from, to]` that lay beyond the 90 days when the pass began and were
    /// never read (a checkpoint older than the platform's look-back).
    pub gap: Option<(i64, i64)>,
}

/// Where a pass is, for progress displays ([`OrderSyncBuilder::on_progress`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// The shop.
    pub shop: String,
    /// The pass's first second.
    pub from: i64,
    /// The pass's last second.
    pub to: i64,
    /// Every order before this second is stored.
    pub reached: i64,
    /// Orders stored so far in this pass.
    pub stored: u64,
}

/// What [`OrderSync::apply_push`] did with a record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushOutcome {
    /// The order was read and handed to the sink (`update_time` of the version read).
    Refreshed {
        /// The shop.
        shop: String,
        /// The order id.
        order_id: String,
        /// The `update_time` of the version read.
        update_time: i64,
    },
    /// The sink already had this version or a newer one.
    Unchanged {
        /// The shop.
        shop: String,
        /// The order id.
        order_id: String,
    },
    /// Not an order push (another tag, the test push, no `p_id`), or a shop this
    /// synchroniser does not serve.
    Ignored,
}

type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;
type ProgressHook = Arc<dyn Fn(&Progress) + Send + Sync>;

/// The settings of an [`OrderSync`].
#[derive(Clone)]
struct Settings {
    overlap: i64,
    page_size: i64,
    poll_interval: Duration,
    since: Option<i64>,
    search_cap: i64,
    concurrency: usize,
    clock: Clock,
    progress: Option<ProgressHook>,
}

/// One shop: its client, the versions handed over lately, one pass at a time.
struct ShopState {
    client: Client,
    /// order id -> the newest version handed to the sink (within the overlap).
    handed: Mutex<HashMap<String, Version>>,
    pass: tokio::sync::Mutex<()>,
}

impl ShopState {
    /// Whether `version` of `order_id` (or a newer one) was handed over already.
    fn has(&self, order_id: &str, version: Version) -> bool {
        let handed = self.handed.lock().unwrap_or_else(|e| e.into_inner());
        handed.get(order_id).is_some_and(|newest| newest.covers(version))
    }

    /// Records versions handed over; of two in the same second, the later handed wins.
    fn remember<'a>(&self, versions: impl IntoIterator<Item = (&'a str, Version)>) {
        let mut handed = self.handed.lock().unwrap_or_else(|e| e.into_inner());
        for (id, version) in versions {
            let newest = handed.entry(id.to_owned()).or_insert(version);
            if version.update_time >= newest.update_time {
                *newest = version;
            }
        }
    }

    /// Forgets the versions older than `horizon`: no later read reaches them.
    fn forget_before(&self, horizon: i64) {
        self.handed.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, v| v.update_time >= horizon);
    }
}

/// One version of an order as read: its `update_time` and a fingerprint of its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    update_time: i64,
    fingerprint: u64,
}

impl Version {
    fn of(order: &Order, update_time: i64) -> Version {
        Version { update_time, fingerprint: fingerprint(order) }
    }

    /// Whether `other` adds nothing to this version: older, or the same second and content.
    fn covers(&self, other: Version) -> bool {
        self.update_time > other.update_time || *self == other
    }
}

/// A hash of the order's JSON, written straight into the hasher (no string is built).
/// In-process only (the versions are never stored), so std's hasher is enough.
fn fingerprint(order: &Order) -> u64 {
    struct Hashing(std::collections::hash_map::DefaultHasher);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            std::hash::Hasher::write(&mut self.0, bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(std::collections::hash_map::DefaultHasher::new());
    // Serialising a decoded order cannot fail (its maps have string keys); were it to,
    // the fingerprint of what was written still tells most versions apart, and a false
    // match only costs the re-read that a later pass makes anyway.
    let _ = serde_json::to_writer(&mut hashing, order);
    std::hash::Hasher::finish(&hashing.0)
}

/// Builds an [`OrderSync`]: [`OrderSync::builder`].
pub struct OrderSyncBuilder<S> {
    sink: S,
    shops: Vec<(String, Client)>,
    settings: Settings,
    error: Option<String>,
}

impl<S: SyncSink> OrderSyncBuilder<S> {
    /// Adds the shop of `client` (a client built for one shop: `shop_id`, or
    /// [`Client::for_shop`]).
    pub fn shop(mut self, client: Client) -> Self {
        match client.shop() {
            Some(shop) => self.shops.push((shop.to_owned(), client)),
            None => self.error = Some("a client without a shop: build it with shop_id or use for_shop".to_owned()),
        }
        self
    }

    /// Adds `shops`, each served by `client.for_shop(id)` (a tool app's shops, whose
    /// tokens the client's token store keeps).
    pub fn shops<I>(mut self, client: &Client, shops: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        for shop in shops {
            self.shops.push((shop.as_ref().to_owned(), client.for_shop(shop.as_ref())));
        }
        self
    }

    /// The re-read behind the checkpoint on every pass (default 2 minutes): at least the
    /// lag of the platform's search index.
    pub fn overlap(mut self, overlap: Duration) -> Self {
        self.settings.overlap = i64::try_from(overlap.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// Orders per `order.searchList` page, 1 to 100 (default 100).
    pub fn page_size(mut self, size: i64) -> Self {
        self.settings.page_size = size;
        self
    }

    /// The pause between passes of [`OrderSync::follow`] (default 15 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.settings.poll_interval = interval;
        self
    }

    /// Where a shop without a checkpoint starts, Unix seconds (default: 90 days back, the
    /// platform's limit; an earlier time is raised to it).
    pub fn since(mut self, unix_secs: i64) -> Self {
        self.settings.since = Some(unix_secs);
        self
    }

    /// The per-filter cap of `order.searchList` (default 50,000, the platform's).
    pub fn search_cap(mut self, cap: i64) -> Self {
        self.settings.search_cap = cap;
        self
    }

    /// How many windows of one shop are read at once (default 4). A pass over a long range
    /// (an initial sync, a resume after a long stop) is cut into time slices read
    /// concurrently, so that one shop reaches the quota despite each call's latency; the
    /// checkpoint follows the slices completed in order. 1 reads one window at a time.
    pub fn concurrency(mut self, readers: usize) -> Self {
        self.settings.concurrency = readers;
        self
    }

    /// The clock, Unix seconds (default the system clock): for a gateway whose clock was
    /// moved.
    pub fn clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.settings.clock = Arc::new(clock);
        self
    }

    /// Called after each batch a pass stores (from the pass's task: keep it short).
    pub fn on_progress(mut self, hook: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.settings.progress = Some(Arc::new(hook));
        self
    }

    /// The synchroniser, or [`SyncError::Config`] for a setting out of range.
    pub fn build(self) -> Result<OrderSync<S>, SyncError> {
        if let Some(error) = self.error {
            return Err(SyncError::Config(error));
        }
        let s = &self.settings;
        if !(1..=DEFAULT_PAGE_SIZE).contains(&s.page_size) {
            return Err(SyncError::Config(format!("page size {} is not between 1 and 100", s.page_size)));
        }
        if s.search_cap < s.page_size {
            return Err(SyncError::Config(format!(
                "search cap {} is below the page size {}",
                s.search_cap, s.page_size
            )));
        }
        if s.concurrency == 0 {
            return Err(SyncError::Config("the concurrency is zero".to_owned()));
        }
        if s.poll_interval.is_zero() {
            return Err(SyncError::Config("the poll interval is zero".to_owned()));
        }
        let mut shops = HashMap::new();
        for (id, client) in self.shops {
            let state = ShopState { client, handed: Mutex::new(HashMap::new()), pass: tokio::sync::Mutex::new(()) };
            if shops.insert(id.clone(), Arc::new(state)).is_some() {
                return Err(SyncError::Config(format!("shop {id} is given twice")));
            }
        }
        Ok(OrderSync { inner: Arc::new(Inner { sink: self.sink, shops, settings: self.settings }) })
    }
}

struct Inner<S> {
    sink: S,
    shops: HashMap<String, Arc<ShopState>>,
    settings: Settings,
}

/// The order synchroniser (see the [module docs](self)). Cheap to clone.
pub struct OrderSync<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for OrderSync<S> {
    fn clone(&self) -> Self {
        OrderSync { inner: Arc::clone(&self.inner) }
    }
}

impl<S> fmt::Debug for OrderSync<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderSync").field("shops", &self.shops()).finish_non_exhaustive()
    }
}

impl<S> OrderSync<S> {
    /// The shops, sorted.
    pub fn shops(&self) -> Vec<String> {
        let mut shops: Vec<String> = self.inner.shops.keys().cloned().collect();
        shops.sort();
        shops
    }

    /// The sink.
    pub fn sink(&self) -> &S {
        &self.inner.sink
    }

    /// The pause between passes of [`follow`](Self::follow).
    pub fn poll_interval(&self) -> Duration {
        self.inner.settings.poll_interval
    }
}

fn system_clock() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl<S: SyncSink> OrderSync<S> {
    /// A builder storing into `sink`; add shops with [`shop`](OrderSyncBuilder::shop) or
    /// [`shops`](OrderSyncBuilder::shops).
    pub fn builder(sink: S) -> OrderSyncBuilder<S> {
        OrderSyncBuilder {
            sink,
            shops: Vec::new(),
            settings: Settings {
                overlap: DEFAULT_OVERLAP.as_secs() as i64,
                page_size: DEFAULT_PAGE_SIZE,
                poll_interval: DEFAULT_POLL_INTERVAL,
                since: None,
                search_cap: DEFAULT_SEARCH_CAP,
                concurrency: DEFAULT_CONCURRENCY,
                clock: Arc::new(system_clock),
                progress: None,
            },
            error: None,
        }
    }

    fn shop_state(&self, shop: &str) -> Result<&Arc<ShopState>, SyncError> {
        self.inner.shops.get(shop).ok_or_else(|| SyncError::UnknownShop(shop.to_owned()))
    }

    /// One pass over `shop`: every order changed since its checkpoint (minus the overlap)
    /// up to a second ago, stored with the checkpoints they reach. Passes of one shop run
    /// one at a time.
    pub async fn sync_shop(&self, shop: &str) -> Result<PassReport, SyncError> {
        let state = self.shop_state(shop)?;
        let _one_at_a_time = state.pass.lock().await;
        reader::pass(&self.inner.sink, &self.inner.settings, shop, state).await
    }

    /// One pass over every shop, concurrently; the reports in the order of
    /// [`shops`](Self::shops).
    pub async fn sync_all(&self) -> Vec<Result<PassReport, SyncError>> {
        let shops = self.shops();
        futures_util::future::join_all(shops.iter().map(|shop| self.sync_shop(shop))).await
    }

    /// Passes over every shop forever, each shop every poll interval; a failed pass is
    /// logged and tried again at the next interval (the checkpoint keeps what it did).
    pub async fn follow(&self) {
        let shops = self.shops();
        futures_util::future::join_all(shops.iter().map(|shop| async move {
            loop {
                if let Err(error) = self.sync_shop(shop).await {
                    tracing::warn!(shop = %shop, error = %error, "order sync pass failed; trying again next interval");
                }
                tokio::time::sleep(self.inner.settings.poll_interval).await;
            }
        }))
        .await;
    }

    /// Reads `order_id` of `shop` with `order.orderDetail` and hands it to the sink
    /// (without moving the checkpoint), unless a version as new was handed over already.
    pub async fn refresh(&self, shop: &str, order_id: &str) -> Result<PushOutcome, SyncError> {
        let state = self.shop_state(shop)?;
        let api = |source| SyncError::Api { shop: shop.to_owned(), source };
        let reply = state.client.execute(&OrderOrderDetailRequest::new(order_id)).await.map_err(api)?;
        let incomplete = |message: String| SyncError::Incomplete { shop: shop.to_owned(), message };
        let Some(order) = reply.into_data().shop_order_detail else {
            return Err(incomplete(format!("order.orderDetail of {order_id} returned no order")));
        };
        let Some(update_time) = order.update_time else {
            return Err(incomplete(format!("order.orderDetail of {order_id} has no update_time")));
        };
        let unchanged = PushOutcome::Unchanged { shop: shop.to_owned(), order_id: order_id.to_owned() };
        let version = Version::of(&order, update_time);
        if state.has(order_id, version) {
            return Ok(unchanged);
        }
        self.inner
            .sink
            .store(shop, std::slice::from_ref(&order), None)
            .await
            .map_err(|source| SyncError::Sink { shop: shop.to_owned(), source })?;
        state.remember([(order_id, version)]);
        Ok(PushOutcome::Refreshed { shop: shop.to_owned(), order_id: order_id.to_owned(), update_time })
    }

    /// Applies a verified push record: an order push (trade and refund tags) of one of
    /// the shops refreshes its order; anything else is [`PushOutcome::Ignored`].
    pub async fn apply_push(&self, record: &PushRecord) -> Result<PushOutcome, SyncError> {
        match PushOrder::of(record) {
            Some(push) if self.inner.shops.contains_key(&push.shop_id) => {
                self.refresh(&push.shop_id, &push.order_id).await
            }
            _ => Ok(PushOutcome::Ignored),
        }
    }
}
