//! One pass over one shop: the slices, windows, their pages and the crowded seconds (see
//! the module docs of [`sync`](super) for why it reads this way).

use std::sync::Mutex;

use futures_util::{StreamExt, TryStreamExt};

use crate::api::order::{Order, OrderSearchListRequest, OrderSearchListResponse};

use super::{
    Checkpoint, PassReport, Progress, Settings, ShopState, SyncError, SyncSink, Version, LOOKBACK, LOOKBACK_MARGIN,
};

/// How often a crowded second is read again from its first page before giving up: each
/// new reading means an order of it changed while it was being read.
const CROWDED_SECOND_READINGS: u32 = 50;

/// A range is cut into slices read at once only when it holds more than this many pages:
/// a pass of a few minutes (`follow`) stays one sequence of calls.
const PAGES_WORTH_SLICING: i64 = 8;

/// Slices per concurrent reader: more slices than readers, so one dense slice does not
/// leave the others idle.
const SLICES_PER_READER: i64 = 4;

/// One pass: from the checkpoint (minus the overlap) to a second before now.
pub(super) async fn pass<S: SyncSink>(
    sink: &S,
    settings: &Settings,
    shop: &str,
    state: &ShopState,
) -> Result<PassReport, SyncError> {
    let now = (settings.clock)();
    let floor = now - LOOKBACK.as_secs() as i64 + LOOKBACK_MARGIN;
    // The current second may still gain orders: it is read by the next pass.
    let end = now - 1;
    let stored = sink.checkpoint(shop).await.map_err(|source| SyncError::Sink { shop: shop.to_owned(), source })?;
    let mut report = PassReport { shop: shop.to_owned(), checkpoint: stored, ..PassReport::default() };
    let (checkpoint, wanted) = match stored {
        Some(checkpoint) => (checkpoint, checkpoint.resume_from().saturating_sub(settings.overlap)),
        None => {
            let since = settings.since.unwrap_or(floor).max(floor);
            (Checkpoint::before(since), since)
        }
    };
    if checkpoint.resume_from() < floor {
        report.gap = Some((checkpoint.resume_from(), floor - 1));
        tracing::warn!(shop, checkpoint = %checkpoint, floor,
            "the checkpoint is older than the platform's 90 days: orders changed before the floor and not since are not read");
    }
    let start = wanted.max(floor);
    state.forget_before(start);
    if start > end {
        return Ok(report);
    }
    let reader = Reader {
        sink,
        settings,
        shop,
        state,
        from: start,
        to: end,
        tally: Mutex::new(Tally { report, base: checkpoint, saved: stored, slices: Vec::new() }),
    };
    let first = reader.search(start, end, 0).await?;
    let total = first.total.unwrap_or(first.shop_order_list.len() as i64);
    let readers = settings.concurrency as i64;
    // No order lies before the first one listed: the slices start there.
    let first_change = first.shop_order_list.iter().filter_map(|o| o.update_time).min().unwrap_or(start).max(start);
    if readers > 1 && total > PAGES_WORTH_SLICING * settings.page_size && end > first_change {
        reader.sliced(first_change, end, readers).await?;
    } else {
        {
            let mut tally = reader.lock();
            tally.slices = vec![Slice::new(start, end)];
            tally.report.slices = 1;
        }
        reader.range(0, start, end, Some(first)).await?;
    }
    let tally = reader.tally.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(tally.report)
}

/// A part of the pass's range and how far its committed stores reach.
#[derive(Debug, Clone, Copy)]
struct Slice {
    start: i64,
    end: i64,
    /// Every order of the slice before this second is stored (committed).
    reached: Checkpoint,
}

impl Slice {
    fn new(start: i64, end: i64) -> Slice {
        Slice { start, end, reached: Checkpoint::before(start) }
    }

    fn complete(&self) -> bool {
        self.reached >= Checkpoint::through(self.end)
    }
}

struct Tally {
    report: PassReport,
    /// The checkpoint the pass began from: never moved behind.
    base: Checkpoint,
    /// The checkpoint the sink holds.
    saved: Option<Checkpoint>,
    slices: Vec<Slice>,
}

impl Tally {
    /// The checkpoint a store of slice `index` reaching `reached` may claim: the committed
    /// slices in order up to the first incomplete one, with this store's own progress.
    fn checkpoint_with(&self, index: usize, reached: Checkpoint) -> Checkpoint {
        let mut frontier = self.base;
        for (i, slice) in self.slices.iter().enumerate() {
            let progress = if i == index { slice.reached.max(reached) } else { slice.reached };
            frontier = frontier.max(progress);
            if progress < Checkpoint::through(slice.end) {
                break;
            }
        }
        frontier
    }
}

struct Reader<'a, S> {
    sink: &'a S,
    settings: &'a Settings,
    shop: &'a str,
    state: &'a ShopState,
    from: i64,
    to: i64,
    tally: Mutex<Tally>,
}

impl<S: SyncSink> Reader<'_, S> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads `[start, end]` as equal time slices, `readers` of them at once; the
    /// checkpoint follows the slices completed in order.
    async fn sliced(&self, start: i64, end: i64, readers: i64) -> Result<(), SyncError> {
        let span = end - start + 1;
        let count = (readers * SLICES_PER_READER).min(span);
        let slices: Vec<Slice> =
            (0..count).map(|k| Slice::new(start + span * k / count, start + span * (k + 1) / count - 1)).collect();
        {
            let mut tally = self.lock();
            tally.slices = slices.clone();
            tally.report.slices = count as u64;
        }
        futures_util::stream::iter(slices.into_iter().enumerate())
            .map(|(index, slice)| self.range(index, slice.start, slice.end, None))
            .buffer_unordered(readers as usize)
            .try_collect::<Vec<()>>()
            .await?;
        // Slices finishing together each claimed only what was committed before them: the
        // whole range is stored now.
        self.store(0, Vec::new(), Checkpoint::before(start)).await
    }

    /// Reads `[start, end]` of slice `index` in windows that fit under the per-filter
    /// cap; `first` is page 0 of the whole range when already read.
    async fn range(
        &self,
        index: usize,
        start: i64,
        end: i64,
        mut first: Option<OrderSearchListResponse>,
    ) -> Result<(), SyncError> {
        let cap = self.settings.search_cap;
        let mut lo = start;
        let mut width = end - start + 1;
        while lo <= end {
            let mut hi = end.min(lo.saturating_add(width - 1));
            let (page, total) = loop {
                let page = match first.take() {
                    Some(page) if hi == end => page,
                    _ => self.search(lo, hi, 0).await?,
                };
                let total = page.total.unwrap_or(page.shop_order_list.len() as i64);
                if total >= cap && hi > lo {
                    hi = lo + (hi - lo) / 2;
                    self.lock().report.splits += 1;
                    continue;
                }
                break (page, total);
            };
            // The next window starts at the width that fitted, wider while well under the cap.
            width = hi - lo + 1;
            if total < cap / 4 {
                width = width.saturating_mul(2);
            }
            self.window(index, lo, hi, page).await?;
            lo = hi + 1;
        }
        Ok(())
    }

    /// Reads the window `[lo, hi]` (under the cap) whose first page is `page`: never by
    /// offset, always page 0 from the last `update_time` read.
    async fn window(&self, index: usize, lo: i64, hi: i64, mut page: OrderSearchListResponse) -> Result<(), SyncError> {
        let mut anchor = lo;
        loop {
            let orders = std::mem::take(&mut page.shop_order_list);
            let full = orders.len() as i64 >= self.settings.page_size;
            let last = orders.iter().filter_map(|o| o.update_time).max();
            match last {
                Some(last) if full && last > anchor => {
                    // Every order of the window before `last` is in this page; `last` may go
                    // on. The next page is read while this one is stored (both finish before
                    // the next store, so stores stay in order): a pass waits for the slower
                    // of the platform and the database, not for both in turn.
                    anchor = last;
                    let (stored, next) = futures_util::future::join(
                        self.store(index, orders, Checkpoint::before(last)),
                        self.search(anchor, hi, 0),
                    )
                    .await;
                    stored?;
                    page = next?;
                    continue;
                }
                Some(_) if full => {
                    // A whole page of one second: read that second through all its pages.
                    self.crowded_second(index, anchor).await?;
                    if anchor >= hi {
                        return Ok(());
                    }
                    anchor += 1;
                }
                _ => return self.store(index, orders, Checkpoint::through(hi)).await,
            }
            page = self.search(anchor, hi, 0).await?;
        }
    }

    /// Reads every order of `second` by offset, again from the first page until one
    /// reading sees the same `total` on every page.
    async fn crowded_second(&self, index: usize, second: i64) -> Result<(), SyncError> {
        self.lock().report.crowded_seconds += 1;
        let (size, cap) = (self.settings.page_size, self.settings.search_cap);
        'reading: for _ in 0..CROWDED_SECOND_READINGS {
            let mut page = self.search(second, second, 0).await?;
            let total = page.total.unwrap_or(page.shop_order_list.len() as i64);
            if total >= cap {
                return Err(SyncError::SecondOverCap { shop: self.shop.to_owned(), second, total, cap });
            }
            let pages = (total + size - 1) / size;
            let mut number = 0;
            loop {
                let orders = std::mem::take(&mut page.shop_order_list);
                self.store(index, orders, Checkpoint::before(second)).await?;
                number += 1;
                if number >= pages {
                    break;
                }
                page = self.search(second, second, number).await?;
                if page.total != Some(total) {
                    continue 'reading;
                }
            }
            return self.store(index, Vec::new(), Checkpoint::through(second)).await;
        }
        Err(SyncError::Incomplete {
            shop: self.shop.to_owned(),
            message: format!("the orders of second {second} kept changing through {CROWDED_SECOND_READINGS} readings"),
        })
    }

    async fn search(&self, lo: i64, hi: i64, page: i64) -> Result<OrderSearchListResponse, SyncError> {
        let request = OrderSearchListRequest::new(page, self.settings.page_size)
            .update_time_start(lo)
            .update_time_end(hi)
            .order_by("update_time")
            .order_asc(true);
        self.lock().report.calls += 1;
        match self.state.client.execute(&request).await {
            Ok(reply) => Ok(reply.into_data()),
            Err(source) => Err(SyncError::Api { shop: self.shop.to_owned(), source }),
        }
    }

    /// Hands the orders not handed over yet to the sink with the checkpoint they reach.
    async fn store(&self, index: usize, orders: Vec<Order>, reached: Checkpoint) -> Result<(), SyncError> {
        let mut fresh = Vec::with_capacity(orders.len());
        let mut versions = Vec::with_capacity(orders.len());
        let (mut duplicates, mut malformed) = (0, 0);
        for order in orders {
            match (&order.order_id, order.update_time) {
                (Some(id), Some(update_time)) => {
                    let id = id.to_string();
                    let version = Version::of(&order, update_time);
                    if self.state.has(&id, version) || versions.iter().any(|(seen, _)| *seen == id) {
                        duplicates += 1;
                    } else {
                        versions.push((id, version));
                        fresh.push(order);
                    }
                }
                _ => malformed += 1,
            }
        }
        let checkpoint = {
            let mut tally = self.lock();
            tally.report.duplicates += duplicates;
            tally.report.malformed += malformed;
            let checkpoint = tally.checkpoint_with(index, reached);
            if fresh.is_empty() && tally.saved.is_some_and(|saved| saved >= checkpoint) {
                tally.slices[index].reached = tally.slices[index].reached.max(reached);
                return Ok(());
            }
            checkpoint
        };
        self.sink
            .store(self.shop, &fresh, Some(checkpoint))
            .await
            .map_err(|source| SyncError::Sink { shop: self.shop.to_owned(), source })?;
        self.state.remember(versions.iter().map(|(id, t)| (id.as_str(), *t)));
        let progress = {
            let mut tally = self.lock();
            tally.slices[index].reached = tally.slices[index].reached.max(reached);
            tally.saved = tally.saved.max(Some(checkpoint));
            tally.report.checkpoint = tally.report.checkpoint.max(Some(checkpoint));
            tally.report.stored += fresh.len() as u64;
            let done: i64 = tally
                .slices
                .iter()
                .map(|s| if s.complete() { s.end - s.start + 1 } else { s.reached.resume_from() - s.start })
                .sum();
            Progress {
                shop: self.shop.to_owned(),
                from: self.from,
                to: self.to,
                reached: self.from + done,
                stored: tally.report.stored,
            }
        };
        if let Some(hook) = &self.settings.progress {
            hook(&progress);
        }
        Ok(())
    }
}
