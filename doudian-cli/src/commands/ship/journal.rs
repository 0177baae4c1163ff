//! The ship journal: one JSON line per step of an order (`sending` before its ship call,
//! then how it ended), appended and synced to disk before the run goes on, so that a
//! rerun after a crash or `kill -9` knows which orders are done without asking the
//! platform.
//!
//! Reading is forgiving: a line that does not parse (the last one cut short by a kill, or
//! one cut by a worker killed while others were appending) is ignored and counted, never
//! an error. An order's last readable record is its state.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::orders::Shipment;

/// At most this many records share one write and one sync.
const MAX_BATCH: usize = 256;

/// Where an order stood when its record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Its ship call is about to be sent: the outcome is unknown until a later record.
    Sending,
    /// Shipped by a ship call that succeeded.
    Shipped,
    /// Read back as no longer awaiting shipment (shipped earlier, or by someone else).
    AlreadyShipped,
    /// The ship call was answered with a refusal, or never left: not shipped by it.
    NotShipped,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub order_id: String,
    pub company_code: String,
    pub tracking_no: String,
    pub state: State,
    /// Unix seconds, for people reading the file.
    pub at: u64,
}

impl Record {
    pub fn new(shipment: &Shipment, state: State) -> Self {
        let at = crate::commands::unix_now() as u64;
        Record {
            order_id: shipment.order_id.clone(),
            company_code: shipment.company_code.clone(),
            tracking_no: shipment.tracking_no.clone(),
            state,
            at,
        }
    }

    /// The logistics values this record was written with.
    pub fn shipment(&self) -> Shipment {
        Shipment {
            order_id: self.order_id.clone(),
            company_code: self.company_code.clone(),
            tracking_no: self.tracking_no.clone(),
        }
    }
}

/// What earlier runs left in the journal.
#[derive(Debug, Default)]
pub struct Earlier {
    /// Each order's last readable record.
    pub last: HashMap<String, Record>,
    /// Lines that did not parse and were skipped.
    pub unreadable: usize,
}

/// Reads the journal at `path`; a missing file is an empty journal.
pub fn load(path: &Path) -> io::Result<Earlier> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Earlier::default()),
        Err(e) => return Err(e),
    };
    let mut earlier = Earlier::default();
    for line in bytes.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(record) => {
                earlier.last.insert(record.order_id.clone(), record);
            }
            Err(_) => earlier.unreadable += 1,
        }
    }
    Ok(earlier)
}

/// A record to write, and where to say once it is on disk (or why not).
type Request = (Record, oneshot::Sender<Result<(), String>>);

/// Appends records; [`Journal::append`] returns once its record is on disk. One thread
/// writes and syncs whatever has queued up meanwhile in one go (group commit), so the
/// ship calls in flight share a sync instead of waiting for one each.
pub struct Journal {
    path: Option<PathBuf>,
    queue: Option<mpsc::UnboundedSender<Request>>,
}

impl Journal {
    /// No journal: appends do nothing (`--csv -` without `--journal`).
    pub fn disabled() -> Self {
        Journal { path: None, queue: None }
    }

    /// Opens (or creates) the journal at `path` for appending. Opened in append mode, so
    /// workers sharing the file each add whole lines at its end.
    pub fn open(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path)?;
        end_with_newline(&mut file)?;
        let (queue, requests) = mpsc::unbounded_channel();
        std::thread::Builder::new().name("ship-journal".into()).spawn(move || write_batches(file, requests))?;
        Ok(Journal { path: Some(path.to_owned()), queue: Some(queue) })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Records `state` for `shipment`, durably.
    pub async fn append(&self, shipment: &Shipment, state: State) -> Result<(), String> {
        let Some(queue) = &self.queue else { return Ok(()) };
        let (done, written) = oneshot::channel();
        queue.send((Record::new(shipment, state), done)).map_err(|_| "the journal writer has stopped".to_owned())?;
        written.await.map_err(|_| "the journal writer has stopped".to_owned())?
    }
}

/// A file whose last line was cut short gets a newline first, so the next record starts
/// a line of its own instead of being glued to the torn one (and lost with it).
fn end_with_newline(file: &mut File) -> io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    Ok(())
}

fn write_batches(mut file: File, mut requests: mpsc::UnboundedReceiver<Request>) {
    while let Some(first) = requests.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut lines = Vec::with_capacity(batch.len() * 128);
        for (record, _) in &batch {
            // A record of strings and an enum always serialises.
            if serde_json::to_writer(&mut lines, record).is_ok() {
                lines.push(b'\n');
            }
        }
        // One write per batch: with O_APPEND it lands whole at the end of the file.
        let result = file.write_all(&lines).and_then(|()| file.sync_data()).map_err(|e| e.to_string());
        for (_, done) in batch {
            let _ = done.send(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipment(order_id: &str, tracking_no: &str) -> Shipment {
        Shipment { order_id: order_id.into(), company_code: "zhongtong".into(), tracking_no: tracking_no.into() }
    }

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("doudian-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("orders.csv.journal")
    }

    #[tokio::test]
    async fn the_last_record_of_an_order_is_its_state() {
        let path = temp_path("last");
        let journal = Journal::open(&path).unwrap();
        journal.append(&shipment("1", "A"), State::Sending).await.unwrap();
        journal.append(&shipment("2", "B"), State::Sending).await.unwrap();
        journal.append(&shipment("1", "A"), State::Shipped).await.unwrap();
        let earlier = load(&path).unwrap();
        assert_eq!(earlier.unreadable, 0);
        assert_eq!(earlier.last["1"].state, State::Shipped);
        assert_eq!(earlier.last["2"].state, State::Sending);
        assert_eq!(earlier.last["2"].shipment(), shipment("2", "B"));
    }

    #[tokio::test]
    async fn a_torn_line_is_skipped_and_the_next_record_starts_a_new_line() {
        let path = temp_path("torn");
        let journal = Journal::open(&path).unwrap();
        journal.append(&shipment("1", "A"), State::Sending).await.unwrap();
        journal.append(&shipment("1", "A"), State::Shipped).await.unwrap();
        drop(journal);
        // A kill in the middle of a write: half a line, no newline.
        let text = std::fs::read_to_string(&path).unwrap();
        let cut = text.trim_end().rfind('\n').unwrap() + 20;
        std::fs::write(&path, &text[..cut]).unwrap();
        let earlier = load(&path).unwrap();
        assert_eq!((earlier.unreadable, earlier.last["1"].state), (1, State::Sending));

        let journal = Journal::open(&path).unwrap();
        journal.append(&shipment("2", "B"), State::Shipped).await.unwrap();
        let earlier = load(&path).unwrap();
        assert_eq!(earlier.unreadable, 1, "the torn line stays unreadable, alone");
        assert_eq!(earlier.last["2"].state, State::Shipped, "the new record is readable");
    }

    #[test]
    fn a_missing_journal_is_empty_and_garbage_lines_are_counted() {
        let path = temp_path("missing");
        assert!(load(&path).unwrap().last.is_empty());
        std::fs::write(&path, "not json\n\n{\"order_id\":\"1\"}\n").unwrap();
        let earlier = load(&path).unwrap();
        assert_eq!((earlier.last.len(), earlier.unreadable), (0, 2));
    }
}
