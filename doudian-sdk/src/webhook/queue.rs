//! The durable queue between a push endpoint and the application's handler, and the
//! worker that feeds one to the other.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use super::Dispatch;
use crate::error::{Chain, Result};
use crate::push::PushRecord;
use crate::retry::RetryPolicy;

/// A record handed out by a [`PushQueue`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Queued {
    /// The queue's id of the record.
    pub id: u64,
    /// The record.
    pub record: PushRecord,
    /// 1 the first time the record is handed out in this process, 2 after one failure, ...
    pub attempt: u32,
}

/// Where verified push records wait for the handler. Once `push` returns `Ok(true)` the
/// records must survive a crash of the process: the endpoint then answers success, and
/// the platform will not send them again. Delivery to the handler is at least once: a
/// crash between the handler's success and the ack hands the record out again. [`PushJournal`](super::PushJournal) keeps them
/// in local files; `doudian_sdk::redis::Redis::push_queue` (feature `redis`) in a Redis stream.
pub trait PushQueue: Send + Sync + 'static {
    /// Adds `records` durably, in order: `Ok(false)` when they do not fit (the push is
    /// answered failure and sent again later).
    fn push(&self, records: Vec<PushRecord>) -> BoxFuture<'_, Result<bool>>;
    /// The next record to hand to the handler, waiting until there is one. A record stays
    /// in the queue, not handed out again in this process, until it is acked or released.
    fn next(&self) -> BoxFuture<'_, Result<Queued>>;
    /// The handler took the record: it is never handed out again.
    fn ack(&self, id: u64) -> BoxFuture<'_, Result<()>>;
    /// The handler failed: the record may be handed out again.
    fn release(&self, id: u64) -> BoxFuture<'_, Result<()>>;
    /// Records waiting (handed out ones included).
    fn waiting(&self) -> usize;
}

/// How the worker hands queued records to the handler.
#[derive(Debug, Clone)]
pub(crate) struct WorkerSettings {
    /// Records handled at once; 1 keeps the order of arrival.
    pub(crate) concurrency: usize,
    /// Delays before a failed record is handed out again.
    pub(crate) retry: RetryPolicy,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            concurrency: 1,
            retry: RetryPolicy::attempts(u32::MAX).with_backoff(Duration::from_secs(1), Duration::from_secs(300)),
        }
    }
}

/// Feeds `queue` to `dispatch` until the process ends: each record is acked once the
/// handler returns `Ok`, released for a later attempt (backing off) when it fails or
/// panics. A record is never dropped: one that keeps failing is retried every five minutes
/// at most, and logged each time.
pub(crate) fn spawn_worker(queue: Arc<dyn PushQueue>, dispatch: Dispatch, settings: WorkerSettings) {
    let slots = Arc::new(tokio::sync::Semaphore::new(settings.concurrency.max(1)));
    tokio::spawn(async move {
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else { return };
            let queued = match queue.next().await {
                Ok(queued) => queued,
                Err(error) => {
                    tracing::error!(error = %Chain(&error), "push queue: cannot read the next record; trying again in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let (queue, dispatch, retry) = (queue.clone(), dispatch.clone(), settings.retry.clone());
            tokio::spawn(async move {
                let Queued { id, record, attempt } = queued;
                let (msg_id, tag) = (record.msg_id.clone(), record.tag.clone());
                let failure = match AssertUnwindSafe(dispatch(record)).catch_unwind().await {
                    Ok(Ok(())) => None,
                    Ok(Err(error)) => Some(error.to_string()),
                    Err(_) => Some("the handler panicked".to_owned()),
                };
                match failure {
                    None => {
                        // Acked before the next record is taken: with one slot, a record is
                        // never handed out while the one before it may still be unacked.
                        if let Err(error) = queue.ack(id).await {
                            tracing::error!(msg_id = %msg_id, error = %Chain(&error),
                                "push queue: cannot record a handled message; it may be handled again after a restart");
                        }
                        drop(slot);
                    }
                    Some(failure) => {
                        drop(slot);
                        let delay = retry.backoff(attempt);
                        tracing::warn!(msg_id = %msg_id, tag = %tag, attempt, error = %failure,
                            retry_in_ms = delay.as_millis() as u64, "push handler failed; the message stays queued");
                        tokio::time::sleep(delay).await;
                        if let Err(error) = queue.release(id).await {
                            tracing::error!(msg_id = %msg_id, error = %Chain(&error), "push queue: cannot release a record");
                        }
                    }
                }
            });
        }
    });
}
