//! [`RedisPushQueue`]: verified push records in a Redis stream, shared by the replicas of a
//! push endpoint (features `redis` and `axum`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ::redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use futures_util::future::BoxFuture;

use super::{Connection, Namespace, Redis};
use crate::error::{Error, Result};
use crate::push::PushRecord;
use crate::webhook::{PushQueue, Queued, DEFAULT_JOURNAL_CAPACITY};

/// How long a blocking read waits for a new record (below the connection's 2 s timeout).
const READ_BLOCK_MS: u64 = 1000;
/// How often records left unacked by a replica that stopped are looked for.
const CLAIM_EVERY: Duration = Duration::from_secs(5);

/// A push queue in a Redis stream, `<namespace>:<app_key>:push-queue`, read through the
/// consumer group `workers`: every replica of the endpoint adds to it and takes from it.
/// Made by [`Redis::push_queue`].
///
/// * `push` adds a push's records in one transaction (`MULTI`/`XADD`/`EXEC`); the push is
///   answered success once Redis has them (as durable as the server's persistence
///   settings make them: use `appendonly yes` for a queue that survives a Redis restart).
/// * A record handed to the handler stays pending in the group until it is acked
///   (`XACK` + `XDEL`). Records pending for longer than [`claim_after`](Self::claim_after)
///   (default 60 s) with a replica that stopped are taken over by the others
///   (`XAUTOCLAIM`); a replica restarted under the same [`consumer`](Self::consumer) name
///   first takes back its own.
/// * At most `capacity` records wait (default [`DEFAULT_JOURNAL_CAPACITY`]); a push that
///   does not fit is answered failure.
pub struct RedisPushQueue {
    /// Adds, acks and claims.
    commands: Connection,
    /// Blocking reads, on a connection of their own: a blocked read would hold up every
    /// command multiplexed on the same connection.
    reads: Connection,
    key: String,
    group: String,
    consumer: String,
    capacity: usize,
    claim_after: Duration,
    state: Mutex<LocalState>,
    next_id: AtomicU64,
    waiting: AtomicUsize,
    /// For the deprecated `namespace`, which renames `key`.
    keys: Namespace,
}

#[derive(Default)]
struct LocalState {
    /// Records read from Redis, not yet handed out.
    buffered: VecDeque<(String, PushRecord)>,
    /// Handed out: queue id -> stream id, the record and its attempts in this process.
    handed: HashMap<u64, (String, PushRecord, u32)>,
    /// Released records, handed out again before anything new.
    released: VecDeque<u64>,
    group_ready: bool,
    own_pending_read: bool,
    last_claim: Option<Instant>,
}

impl std::fmt::Debug for RedisPushQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPushQueue")
            .field("redis", &self.commands.address())
            .field("key", &self.key)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

impl RedisPushQueue {
    /// The queue of `app_key`'s pushes at `url`, on connections of its own, read as a
    /// consumer with a random name.
    #[deprecated(note = "use `Redis::connect(url, app_key)?.push_queue()`: one connection for every store")]
    pub fn new(url: &str, app_key: &str) -> Result<Self> {
        Ok(Redis::connect(url, app_key)?.push_queue())
    }

    pub(super) fn with_connections(commands: Connection, reads: Connection, keys: &Namespace) -> Self {
        let consumer = format!("replica-{:016x}", crate::retry::random_u64());
        RedisPushQueue {
            commands,
            reads,
            key: keys.key("push-queue"),
            group: "workers".to_owned(),
            consumer,
            capacity: DEFAULT_JOURNAL_CAPACITY,
            claim_after: Duration::from_secs(60),
            state: Mutex::new(LocalState::default()),
            next_id: AtomicU64::new(1),
            waiting: AtomicUsize::new(0),
            keys: keys.clone(),
        }
    }

    /// Keys under `namespace` instead of `doudian`.
    #[deprecated(note = "set the namespace on the handle: `Redis::connect(url, app_key)?.namespace(namespace)`")]
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.keys.namespace = namespace.to_owned();
        self.key = self.keys.key("push-queue");
        self
    }

    /// A stable consumer name for this replica (its host name, say): restarted under the
    /// same name, it takes back at once the records it had not acked.
    pub fn consumer(mut self, name: impl Into<String>) -> Self {
        self.consumer = name.into();
        self
    }

    /// At most `records` wait.
    pub fn capacity(mut self, records: usize) -> Self {
        self.capacity = records.max(1);
        self
    }

    /// How long a record stays with a replica that does not ack it before another one
    /// takes it over (default 60 s; longer than the handler ever takes).
    pub fn claim_after(mut self, idle: Duration) -> Self {
        self.claim_after = idle;
        self
    }

    /// The stream's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn failed(&self, what: &str, e: ::redis::RedisError) -> Error {
        Error::Store {
            message: format!("Redis at {}: cannot {what} the push queue", self.commands.address()),
            source: Some(Box::new(e)),
        }
    }

    fn local(&self) -> std::sync::MutexGuard<'_, LocalState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates the group (and the stream) unless they exist; from the stream's start, so
    /// records added before any replica read them are read too.
    async fn ensure_group(&self) -> Result<()> {
        if self.local().group_ready {
            return Ok(());
        }
        let command =
            ::redis::cmd("XGROUP").arg("CREATE").arg(&self.key).arg(&self.group).arg("0").arg("MKSTREAM").clone();
        match self.commands.query::<()>(&command).await {
            Ok(()) => {}
            Err(e) if e.code() == Some("BUSYGROUP") => {}
            Err(e) => return Err(self.failed("create the group of", e)),
        }
        self.local().group_ready = true;
        Ok(())
    }

    /// Reads into the buffer: first this consumer's own pending records (a restart), then
    /// records idle with a stopped replica, then new ones (blocking up to a second).
    async fn fill(&self) -> Result<()> {
        self.ensure_group().await?;
        let (own_pending_read, claim_due) = {
            let local = self.local();
            (local.own_pending_read, local.last_claim.is_none_or(|at| at.elapsed() >= CLAIM_EVERY))
        };
        if !own_pending_read {
            let entries = self.read_group("0", None).await?;
            if entries.is_empty() {
                self.local().own_pending_read = true;
            } else {
                self.buffer(entries);
                return Ok(());
            }
        }
        if claim_due {
            self.local().last_claim = Some(Instant::now());
            let command = ::redis::cmd("XAUTOCLAIM")
                .arg(&self.key)
                .arg(&self.group)
                .arg(&self.consumer)
                .arg(self.claim_after.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(100)
                .clone();
            let claimed: StreamAutoClaimReply =
                self.commands.query(&command).await.map_err(|e| self.failed("claim records of", e))?;
            if !claimed.claimed.is_empty() {
                tracing::warn!(records = claimed.claimed.len(), "push queue: took over records a stopped replica left");
                self.buffer(claimed.claimed);
                return Ok(());
            }
        }
        let entries = self.read_group(">", Some(READ_BLOCK_MS)).await?;
        self.buffer(entries);
        Ok(())
    }

    async fn read_group(&self, from: &str, block_ms: Option<u64>) -> Result<Vec<StreamId>> {
        let mut command = ::redis::cmd("XREADGROUP");
        command.arg("GROUP").arg(&self.group).arg(&self.consumer).arg("COUNT").arg(100);
        if let Some(block_ms) = block_ms {
            command.arg("BLOCK").arg(block_ms);
        }
        command.arg("STREAMS").arg(&self.key).arg(from);
        let reply: Option<StreamReadReply> =
            self.reads.query_once(&command).await.map_err(|e| self.failed("read", e))?;
        Ok(reply.map(|reply| reply.keys.into_iter().flat_map(|key| key.ids).collect()).unwrap_or_default())
    }

    fn buffer(&self, entries: Vec<StreamId>) {
        let mut local = self.local();
        for entry in entries {
            let field = |name: &str| entry.get::<String>(name).unwrap_or_default();
            let record = PushRecord::new(field("tag"), field("msg_id"), field("data"));
            local.buffered.push_back((entry.id.clone(), record));
        }
    }

    /// The next record to hand out, from what was released or read.
    fn take(&self) -> Option<Queued> {
        let mut local = self.local();
        if let Some(id) = local.released.pop_front() {
            let (_, record, attempts) = local.handed.get_mut(&id)?;
            *attempts += 1;
            return Some(Queued { id, record: record.clone(), attempt: *attempts });
        }
        let (stream_id, record) = local.buffered.pop_front()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        local.handed.insert(id, (stream_id, record.clone(), 1));
        Some(Queued { id, record, attempt: 1 })
    }
}

impl PushQueue for RedisPushQueue {
    fn push(&self, records: Vec<PushRecord>) -> BoxFuture<'_, Result<bool>> {
        Box::pin(async move {
            self.ensure_group().await?;
            let length: usize = self
                .commands
                .query(::redis::cmd("XLEN").arg(&self.key))
                .await
                .map_err(|e| self.failed("measure", e))?;
            self.waiting.store(length, Ordering::Relaxed);
            if length + records.len() > self.capacity {
                return Ok(false);
            }
            let mut pipeline = ::redis::pipe();
            pipeline.atomic();
            for record in &records {
                pipeline
                    .cmd("XADD")
                    .arg(&self.key)
                    .arg("*")
                    .arg("tag")
                    .arg(&record.tag)
                    .arg("msg_id")
                    .arg(&record.msg_id)
                    .arg("data")
                    .arg(&record.data)
                    .ignore();
            }
            // Sent once: a repeated transaction would queue the records twice.
            let mut manager = self.commands.manager().await.map_err(|e| self.failed("reach", e))?;
            pipeline.query_async::<()>(&mut manager).await.map_err(|e| self.failed("add to", e))?;
            self.waiting.store(length + records.len(), Ordering::Relaxed);
            Ok(true)
        })
    }

    fn next(&self) -> BoxFuture<'_, Result<Queued>> {
        Box::pin(async move {
            loop {
                if let Some(queued) = self.take() {
                    return Ok(queued);
                }
                self.fill().await?;
            }
        })
    }

    fn ack(&self, id: u64) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let Some((stream_id, _, _)) = self.local().handed.remove(&id) else { return Ok(()) };
            let mut pipeline = ::redis::pipe();
            pipeline.atomic();
            pipeline.cmd("XACK").arg(&self.key).arg(&self.group).arg(&stream_id).ignore();
            pipeline.cmd("XDEL").arg(&self.key).arg(&stream_id).ignore();
            let mut manager = self.commands.manager().await.map_err(|e| self.failed("reach", e))?;
            pipeline.query_async::<()>(&mut manager).await.map_err(|e| self.failed("ack in", e))?;
            let _ = self.waiting.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            Ok(())
        })
    }

    fn release(&self, id: u64) -> BoxFuture<'_, Result<()>> {
        self.local().released.push_back(id);
        Box::pin(async { Ok(()) })
    }

    fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}
