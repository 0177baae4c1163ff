//! [`PushJournal`]: the local durable queue of verified push records.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::queue::{PushQueue, Queued};
use crate::error::{Error, Result};
use crate::push::PushRecord;

/// How many records a journal holds unhandled unless told otherwise.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 20_000;

/// Once everything is handled, a record log larger than this is emptied.
const COMPACT_AT_BYTES: u64 = 1 << 20;

/// Verified push records kept in a directory until the handler has taken each, across
/// crashes and restarts: the endpoint answers success only once a push's records are
/// synced to disk here.
///
/// * `records.log` holds one JSON line per record, appended and synced (`fdatasync`) before
///   the push is answered; `acks.log` holds the sequence number of each handled record,
///   appended without a sync (a killed process loses no write). Delivery is at least
///   once: a crash after the handler took a record and before its ack is appended (or a
///   power cut before the ack reaches the disk) hands that record out again after the
///   restart, so make the handler idempotent (by `msg_id`).
/// * Opening the journal reads both, keeps the unhandled records in their order (a line
///   torn by a crash mid-write is dropped: its push was never answered success), and
///   rewrites the log to hold only those.
/// * One process at a time: `lock` in the directory is held while the journal is open.
/// * At most `capacity` records wait (default [`DEFAULT_JOURNAL_CAPACITY`]); a push that
///   does not fit is answered failure, so the platform sends it again later.
#[derive(Clone)]
pub struct PushJournal {
    inner: Arc<Journal>,
}

impl std::fmt::Debug for PushJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushJournal")
            .field("dir", &self.inner.dir)
            .field("waiting", &self.inner.pending().entries.len())
            .finish()
    }
}

struct Journal {
    dir: PathBuf,
    capacity: usize,
    /// Appends and truncation, one at a time.
    files: Mutex<Files>,
    pending: Mutex<Pending>,
    /// Wakes the worker when a record becomes ready.
    ready: Notify,
    /// Held open: its advisory lock keeps a second process out.
    _lock: File,
}

struct Files {
    records: File,
    acks: File,
    records_len: u64,
}

#[derive(Default)]
struct Pending {
    entries: BTreeMap<u64, Entry>,
    next_seq: u64,
    /// Records written but not yet synced and queued: the log must not be emptied.
    in_transit: usize,
}

struct Entry {
    record: PushRecord,
    in_flight: bool,
    attempts: u32,
}

/// One line of `records.log`.
#[derive(Serialize, Deserialize)]
struct Line {
    seq: u64,
    tag: String,
    msg_id: String,
    data: String,
}

fn io_error(what: &str, path: &Path, error: std::io::Error) -> Error {
    Error::Store { message: format!("push journal: cannot {what} {}", path.display()), source: Some(Box::new(error)) }
}

impl PushJournal {
    /// Opens (or creates) the journal in `dir`, keeping whatever an earlier run left
    /// unhandled. Fails when another process has it open.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        Self::with_capacity(dir, DEFAULT_JOURNAL_CAPACITY)
    }

    /// [`open`](Self::open), holding at most `capacity` unhandled records.
    pub fn with_capacity(dir: impl Into<PathBuf>, capacity: usize) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e))?;
        let lock_path = dir.join("lock");
        let lock = private_options()
            .write(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| io_error("open", &lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(Error::Store {
                message: format!("push journal: {} is in use by another process", dir.display()),
                source: None,
            });
        }
        let pending = recover(&dir)?;
        let records_path = dir.join("records.log");
        let records =
            private_options().append(true).open(&records_path).map_err(|e| io_error("open", &records_path, e))?;
        let records_len = records.metadata().map_err(|e| io_error("read", &records_path, e))?.len();
        let acks_path = dir.join("acks.log");
        let acks = private_options().append(true).open(&acks_path).map_err(|e| io_error("open", &acks_path, e))?;
        if !pending.entries.is_empty() {
            tracing::info!(dir = %dir.display(), records = pending.entries.len(), "push journal: resuming unhandled records");
        }
        let journal = Journal {
            dir,
            capacity: capacity.max(1),
            files: Mutex::new(Files { records, acks, records_len }),
            pending: Mutex::new(pending),
            ready: Notify::new(),
            _lock: lock,
        };
        Ok(PushJournal { inner: Arc::new(journal) })
    }

    /// Records waiting for the handler (in flight included).
    pub fn waiting(&self) -> usize {
        self.inner.pending().entries.len()
    }

    /// The journal's directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true).read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Reads the records left unhandled and rewrites the log to hold only them (synced, then
/// renamed over the old one), with an empty ack log.
fn recover(dir: &Path) -> Result<Pending> {
    let records_path = dir.join("records.log");
    let acks_path = dir.join("acks.log");
    let mut acked = std::collections::HashSet::new();
    if let Ok(file) = File::open(&acks_path) {
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|e| io_error("read", &acks_path, e))?;
            if let Ok(seq) = line.trim().parse::<u64>() {
                acked.insert(seq);
            }
        }
    }
    let mut pending = Pending::default();
    if let Ok(file) = File::open(&records_path) {
        for line in BufReader::new(file).split(b'\n') {
            let line = line.map_err(|e| io_error("read", &records_path, e))?;
            let Ok(Line { seq, tag, msg_id, data }) = serde_json::from_slice::<Line>(&line) else {
                // Only the last line can be torn (a crash mid-append, never answered success).
                tracing::warn!(dir = %dir.display(), "push journal: dropping an unreadable record line");
                continue;
            };
            pending.next_seq = pending.next_seq.max(seq + 1);
            if !acked.contains(&seq) {
                let record = PushRecord::new(tag, msg_id, data);
                pending.entries.insert(seq, Entry { record, in_flight: false, attempts: 0 });
            }
        }
    }
    let mut text = Vec::new();
    for (seq, entry) in &pending.entries {
        encode_line(&mut text, *seq, &entry.record);
    }
    let temporary = dir.join("records.log.tmp");
    let mut file =
        private_options().write(true).truncate(true).open(&temporary).map_err(|e| io_error("create", &temporary, e))?;
    file.write_all(&text).and_then(|()| file.sync_all()).map_err(|e| io_error("write", &temporary, e))?;
    std::fs::rename(&temporary, &records_path).map_err(|e| io_error("replace", &records_path, e))?;
    let acks =
        private_options().write(true).truncate(true).open(&acks_path).map_err(|e| io_error("empty", &acks_path, e))?;
    acks.sync_all().map_err(|e| io_error("sync", &acks_path, e))?;
    if let Ok(dir_handle) = File::open(dir) {
        let _ = dir_handle.sync_all(); // makes the rename durable where the platform allows it
    }
    Ok(pending)
}

fn encode_line(out: &mut Vec<u8>, seq: u64, record: &PushRecord) {
    let line = Line { seq, tag: record.tag.clone(), msg_id: record.msg_id.clone(), data: record.data.clone() };
    // A struct of strings and a number always serialises.
    serde_json::to_writer(&mut *out, &line).expect("a journal line serialises");
    out.push(b'\n');
}

impl Pending {
    /// Whether `records` more fit: those written but not yet queued count too.
    fn has_room(&self, records: usize, capacity: usize) -> bool {
        self.entries.len() + self.in_transit + records <= capacity
    }
}

impl Journal {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn files(&self) -> MutexGuard<'_, Files> {
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends and syncs `records` (blocking): `false` when they do not fit.
    fn append(&self, records: Vec<PushRecord>) -> Result<bool> {
        let (first_seq, synced) = {
            let mut files = self.files();
            let first_seq = {
                let pending = self.pending();
                if !pending.has_room(records.len(), self.capacity) {
                    return Ok(false);
                }
                pending.next_seq
            };
            let mut text = Vec::with_capacity(records.iter().map(|r| r.data.len() + 64).sum());
            for (offset, record) in records.iter().enumerate() {
                encode_line(&mut text, first_seq + offset as u64, record);
            }
            let path = self.dir.join("records.log");
            files.records.write_all(&text).map_err(|e| io_error("append to", &path, e))?;
            files.records_len += text.len() as u64;
            {
                let mut pending = self.pending();
                pending.next_seq = first_seq + records.len() as u64;
                pending.in_transit += records.len();
            }
            // Synced outside the lock, so concurrent pushes share their syncs.
            (first_seq, files.records.try_clone().map_err(|e| io_error("sync", &path, e))?)
        };
        let outcome = synced.sync_data();
        let mut pending = self.pending();
        pending.in_transit -= records.len();
        outcome.map_err(|e| io_error("sync", &self.dir.join("records.log"), e))?;
        for (offset, record) in records.into_iter().enumerate() {
            pending.entries.insert(first_seq + offset as u64, Entry { record, in_flight: false, attempts: 0 });
        }
        drop(pending);
        self.ready.notify_one();
        Ok(true)
    }

    /// The first record that is not in flight, marked in flight.
    fn take_ready(&self) -> Option<Queued> {
        let mut pending = self.pending();
        let (seq, entry) = pending.entries.iter_mut().find(|(_, entry)| !entry.in_flight)?;
        entry.in_flight = true;
        entry.attempts += 1;
        Some(Queued { id: *seq, record: entry.record.clone(), attempt: entry.attempts })
    }

    fn ack(&self, seq: u64) -> Result<()> {
        let mut files = self.files();
        let path = self.dir.join("acks.log");
        files.acks.write_all(format!("{seq}\n").as_bytes()).map_err(|e| io_error("append to", &path, e))?;
        let mut pending = self.pending();
        pending.entries.remove(&seq);
        // Everything handled and the log grown: start it afresh (no append can interleave:
        // appends hold `files`).
        if pending.entries.is_empty() && pending.in_transit == 0 && files.records_len >= COMPACT_AT_BYTES {
            files.records.set_len(0).map_err(|e| io_error("empty", &self.dir.join("records.log"), e))?;
            files.acks.set_len(0).map_err(|e| io_error("empty", &path, e))?;
            files.records_len = 0;
        }
        Ok(())
    }

    fn release(&self, seq: u64) {
        if let Some(entry) = self.pending().entries.get_mut(&seq) {
            entry.in_flight = false;
        }
        self.ready.notify_one();
    }
}

impl PushQueue for PushJournal {
    fn push(&self, records: Vec<PushRecord>) -> BoxFuture<'_, Result<bool>> {
        let journal = self.inner.clone();
        Box::pin(async move {
            // A full journal answers without a trip to a blocking thread.
            if !journal.pending().has_room(records.len(), journal.capacity) {
                return Ok(false);
            }
            tokio::task::spawn_blocking(move || journal.append(records)).await.map_err(|e| Error::Store {
                message: "push journal: the append task failed".into(),
                source: Some(Box::new(e)),
            })?
        })
    }

    fn next(&self) -> BoxFuture<'_, Result<Queued>> {
        Box::pin(async move {
            loop {
                let notified = self.inner.ready.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(queued) = self.inner.take_ready() {
                    return Ok(queued);
                }
                notified.await;
            }
        })
    }

    fn ack(&self, id: u64) -> BoxFuture<'_, Result<()>> {
        let journal = self.inner.clone();
        Box::pin(async move { journal.ack(id) })
    }

    fn release(&self, id: u64) -> BoxFuture<'_, Result<()>> {
        self.inner.release(id);
        Box::pin(async { Ok(()) })
    }

    fn waiting(&self) -> usize {
        PushJournal::waiting(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::tests::TempDir;

    #[tokio::test]
    async fn a_reopened_journal_hands_out_what_was_not_acked_in_order_and_drops_a_torn_line() {
        let dir = TempDir::new("reopen");
        {
            let journal = PushJournal::open(dir.path()).unwrap();
            assert!(PushJournal::open(dir.path()).is_err(), "one process at a time");
            let records: Vec<_> = (1..=5).map(|n| PushRecord::new("100", format!("m{n}"), "{}")).collect();
            assert!(journal.push(records).await.unwrap());
            let first = journal.next().await.unwrap();
            assert_eq!((first.record.msg_id.as_str(), first.attempt), ("m1", 1));
            journal.ack(first.id).await.unwrap();
            let second = journal.next().await.unwrap();
            assert_eq!((second.record.msg_id.as_str(), second.attempt), ("m2", 1));
            journal.release(second.id).await.unwrap();
            // A released record comes out again, before later ones; it is left in flight.
            let again = journal.next().await.unwrap();
            assert_eq!((again.record.msg_id.as_str(), again.attempt), ("m2", 2));
            let third = journal.next().await.unwrap();
            assert_eq!((third.record.msg_id.as_str(), third.attempt), ("m3", 1));
            journal.ack(third.id).await.unwrap();
            assert_eq!(journal.waiting(), 3);
        }
        // A crash mid-append leaves a torn last line.
        let mut log = std::fs::OpenOptions::new().append(true).open(dir.path().join("records.log")).unwrap();
        std::io::Write::write_all(&mut log, br#"{"seq":5,"tag":"100","msg_i"#).unwrap();
        let journal = PushJournal::with_capacity(dir.path(), 4).unwrap();
        let order: Vec<String> = [(); 3].iter().map(|_| journal.inner.take_ready().unwrap().record.msg_id).collect();
        assert_eq!(order, ["m2", "m4", "m5"]);
        assert!(journal.inner.take_ready().is_none());
        // Capacity counts the waiting records: 3 of 4 are taken.
        assert!(!journal.push(vec![PushRecord::new("1", "a", "{}"), PushRecord::new("1", "b", "{}")]).await.unwrap());
        assert!(journal.push(vec![PushRecord::new("1", "a", "{}")]).await.unwrap());
        let text = std::fs::read_to_string(dir.path().join("records.log")).unwrap();
        assert_eq!(text.lines().count(), 4, "rewritten without handled or torn lines: {text}");
        assert!(text.lines().last().unwrap().contains(r#""seq":5"#), "numbering goes on past m5: {text}");
    }

    #[tokio::test]
    async fn an_emptied_journal_starts_its_log_afresh() {
        let dir = TempDir::new("compact");
        let journal = PushJournal::open(dir.path()).unwrap();
        let big = "x".repeat(700 * 1024);
        assert!(journal
            .push(vec![PushRecord::new("1", "a", big.clone()), PushRecord::new("1", "b", big)])
            .await
            .unwrap());
        let first = journal.next().await.unwrap();
        journal.ack(first.id).await.unwrap();
        assert!(std::fs::metadata(dir.path().join("records.log")).unwrap().len() > 1 << 20, "one still waits");
        let second = journal.next().await.unwrap();
        journal.ack(second.id).await.unwrap();
        assert_eq!(std::fs::metadata(dir.path().join("records.log")).unwrap().len(), 0);
        assert_eq!(std::fs::metadata(dir.path().join("acks.log")).unwrap().len(), 0);
        assert!(journal.push(vec![PushRecord::new("1", "c", "{}")]).await.unwrap());
        assert_eq!(journal.next().await.unwrap().record.msg_id, "c");
    }
}
