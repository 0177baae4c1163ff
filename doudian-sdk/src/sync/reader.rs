//! One pass over one shop: the windows, their pages and the crowded seconds (see the
//! module docs of [`sync`](super) for why it reads this way).

use crate::api::order::{Order, OrderSearchListRequest, OrderSearchListResponse};

use super::{Checkpoint, PassReport, Progress, Settings, ShopState, SyncError, SyncSink, LOOKBACK, LOOKBACK_MARGIN};

/// How often a crowded second is read again from its first page before giving up: each
/// new reading means an order of it changed while it was being read.
const CROWDED_SECOND_READINGS: u32 = 50;

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
    let mut reader = Reader { sink, settings, shop, state, report, checkpoint, saved: stored, from: start, to: end };
    reader.range(start, end).await?;
    Ok(reader.report)
}

struct Reader<'a, S> {
    sink: &'a S,
    settings: &'a Settings,
    shop: &'a str,
    state: &'a ShopState,
    report: PassReport,
    /// The checkpoint reached (never behind the stored one).
    checkpoint: Checkpoint,
    /// The checkpoint the sink holds.
    saved: Option<Checkpoint>,
    from: i64,
    to: i64,
}

impl<S: SyncSink> Reader<'_, S> {
    /// Reads `[start, end]` in windows that fit under the per-filter cap.
    async fn range(&mut self, start: i64, end: i64) -> Result<(), SyncError> {
        let cap = self.settings.search_cap;
        let mut lo = start;
        let mut width = end - start + 1;
        while lo <= end {
            let mut hi = end.min(lo.saturating_add(width - 1));
            let (first, total) = loop {
                let page = self.search(lo, hi, 0).await?;
                let total = page.total.unwrap_or(page.shop_order_list.len() as i64);
                if total >= cap && hi > lo {
                    hi = lo + (hi - lo) / 2;
                    self.report.splits += 1;
                    continue;
                }
                break (page, total);
            };
            // The next window starts at the width that fitted, wider while well under the cap.
            width = hi - lo + 1;
            if total < cap / 4 {
                width = width.saturating_mul(2);
            }
            self.window(lo, hi, first).await?;
            lo = hi + 1;
        }
        Ok(())
    }

    /// Reads the window `[lo, hi]` (under the cap) whose first page is `page`: never by
    /// offset, always page 0 from the last `update_time` read.
    async fn window(&mut self, lo: i64, hi: i64, mut page: OrderSearchListResponse) -> Result<(), SyncError> {
        let mut anchor = lo;
        loop {
            let orders = std::mem::take(&mut page.shop_order_list);
            let full = orders.len() as i64 >= self.settings.page_size;
            let last = orders.iter().filter_map(|o| o.update_time).max();
            match last {
                Some(last) if full && last > anchor => {
                    // Every order of the window before `last` is in this page; `last` may go on.
                    self.store(orders, Checkpoint::before(last)).await?;
                    anchor = last;
                }
                Some(_) if full => {
                    // A whole page of one second: read that second through all its pages.
                    self.crowded_second(anchor).await?;
                    if anchor >= hi {
                        return Ok(());
                    }
                    anchor += 1;
                }
                _ => return self.store(orders, Checkpoint::through(hi)).await,
            }
            page = self.search(anchor, hi, 0).await?;
        }
    }

    /// Reads every order of `second` by offset, again from the first page until one
    /// reading sees the same `total` on every page.
    async fn crowded_second(&mut self, second: i64) -> Result<(), SyncError> {
        self.report.crowded_seconds += 1;
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
                self.store(orders, Checkpoint::before(second)).await?;
                number += 1;
                if number >= pages {
                    break;
                }
                page = self.search(second, second, number).await?;
                if page.total != Some(total) {
                    continue 'reading;
                }
            }
            return self.store(Vec::new(), Checkpoint::through(second)).await;
        }
        Err(SyncError::Incomplete {
            shop: self.shop.to_owned(),
            message: format!("the orders of second {second} kept changing through {CROWDED_SECOND_READINGS} readings"),
        })
    }

    async fn search(&mut self, lo: i64, hi: i64, page: i64) -> Result<OrderSearchListResponse, SyncError> {
        let request = OrderSearchListRequest::new(page, self.settings.page_size)
            .update_time_start(lo)
            .update_time_end(hi)
            .order_by("update_time")
            .order_asc(true);
        self.report.calls += 1;
        match self.state.client.execute(&request).await {
            Ok(reply) => Ok(reply.into_data()),
            Err(source) => Err(SyncError::Api { shop: self.shop.to_owned(), source }),
        }
    }

    /// Hands the orders not handed over yet to the sink with the checkpoint they reach.
    async fn store(&mut self, orders: Vec<Order>, reached: Checkpoint) -> Result<(), SyncError> {
        let checkpoint = self.checkpoint.max(reached);
        let mut fresh = Vec::with_capacity(orders.len());
        let mut versions = Vec::with_capacity(orders.len());
        for order in orders {
            match (&order.order_id, order.update_time) {
                (Some(id), Some(update_time)) => {
                    let id = id.to_string();
                    if self.state.has(&id, update_time) || versions.iter().any(|(seen, _)| *seen == id) {
                        self.report.duplicates += 1;
                    } else {
                        versions.push((id, update_time));
                        fresh.push(order);
                    }
                }
                _ => self.report.malformed += 1,
            }
        }
        if fresh.is_empty() && self.saved == Some(checkpoint) {
            return Ok(());
        }
        self.sink
            .store(self.shop, &fresh, Some(checkpoint))
            .await
            .map_err(|source| SyncError::Sink { shop: self.shop.to_owned(), source })?;
        self.state.remember(versions.iter().map(|(id, t)| (id.as_str(), *t)));
        self.checkpoint = checkpoint;
        self.saved = Some(checkpoint);
        self.report.checkpoint = Some(checkpoint);
        self.report.stored += fresh.len() as u64;
        if let Some(hook) = &self.settings.progress {
            hook(&Progress {
                shop: self.shop.to_owned(),
                from: self.from,
                to: self.to,
                reached: checkpoint.resume_from(),
                stored: self.report.stored,
            });
        }
        Ok(())
    }
}
