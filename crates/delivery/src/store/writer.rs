//! The writer thread: every write runs there, as a *group commit*. It takes every waiting
//! job (up to [`MAX_BATCH`]), runs each in its own SAVEPOINT inside one transaction, commits
//! once, then answers each. So an answer means durable (see `Durability`), many concurrent
//! requests share one fsync, and the single writer serializes what must be serialized: one
//! accepted commit per group epoch, each key package claimed once, strictly increasing queue
//! sequence numbers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, SyncSender, sync_channel};

use rusqlite::Connection;

use super::StoreError;

/// Most requests one group commit takes.
pub const MAX_BATCH: usize = 512;

type Completion = Box<dyn FnOnce(bool) + Send>;
/// A write: runs on the writer inside the batch transaction (or gets `None` when the
/// transaction could not begin, and must then only report failure).
type Job = Box<dyn FnOnce(Option<&mut Writer>) -> (bool, Completion) + Send>;

/// The writer thread's connection, and the queue sequence numbers it hands out.
pub(super) struct Writer {
    pub(super) conn: Connection,
    /// Per device, the last sequence number handed out, once looked up. Only ever ahead of
    /// the database (a rolled-back job leaves a gap, which is allowed): the next number is
    /// above every item still queued and above `devices.last_seq`, which records the highest
    /// item ever deleted from the queue. So numbers stay strictly increasing across restarts
    /// without a write per delivered item.
    last_seq: HashMap<i64, i64>,
}

impl Writer {
    pub(super) fn next_seq(&mut self, device: i64) -> Result<i64, StoreError> {
        let last = match self.last_seq.get(&device) {
            Some(&last) => last,
            None => self
                .conn
                .prepare_cached(
                    "SELECT MAX(last_seq, COALESCE((SELECT MAX(seq) FROM queue WHERE device_id = ?1), 0))
                     FROM devices WHERE id = ?1",
                )?
                .query_row([device], |r| r.get(0))?,
        };
        self.last_seq.insert(device, last + 1);
        Ok(last + 1)
    }
}

/// The handle that sends jobs to the writer thread.
pub(super) struct Jobs(Mutex<Sender<Job>>);

impl Jobs {
    /// Starts the writer thread on `conn` (migrated, configured).
    pub(super) fn start(conn: Connection) -> Result<Self, StoreError> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("ds-writer".into())
            .spawn(move || {
                let writer = Writer {
                    conn,
                    last_seq: HashMap::new(),
                };
                writer_loop(writer, rx)
            })
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        Ok(Self(Mutex::new(tx)))
    }

    /// Runs `f` on the writer, inside the next group commit, and returns its result once
    /// that commit is durable (an error if it did not commit).
    pub(super) fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply_tx, reply_rx): (SyncSender<Result<T, StoreError>>, _) = sync_channel(1);
        let job: Job = Box::new(move |writer| {
            let result = match writer {
                Some(writer) => f(writer),
                None => Err(StoreError::Internal("database unavailable".into())),
            };
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |committed| {
                let result = match result {
                    Ok(_) if !committed => Err(StoreError::Internal("commit failed".into())),
                    other => other,
                };
                let _ = reply_tx.send(result);
            });
            (ok, completion)
        });
        self.0
            .lock()
            .map_err(|_| StoreError::Internal("writer lock poisoned".into()))?
            .send(job)
            .map_err(|_| StoreError::Internal("writer stopped".into()))?;
        reply_rx
            .recv()
            .map_err(|_| StoreError::Internal("writer stopped".into()))?
    }
}

fn writer_loop(mut writer: Writer, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let began = writer.conn.execute_batch("BEGIN IMMEDIATE").is_ok();
        let mut completions = Vec::with_capacity(jobs.len());
        for job in jobs {
            if !began {
                let (_, completion) = job(None);
                completions.push(completion);
                continue;
            }
            let savepoint = run(&writer.conn, "SAVEPOINT job");
            let (ok, completion) = job(savepoint.then_some(&mut writer));
            if savepoint {
                if !ok {
                    run(&writer.conn, "ROLLBACK TO job");
                }
                run(&writer.conn, "RELEASE job");
            }
            completions.push(completion);
        }
        let committed = began && writer.conn.execute_batch("COMMIT").is_ok();
        if began && !committed {
            let _ = writer.conn.execute_batch("ROLLBACK");
        }
        for completion in completions {
            completion(committed);
        }
    }
}

/// Runs one statement without parameters through the statement cache (the writer runs its
/// savepoint statements for every job).
fn run(conn: &Connection, sql: &str) -> bool {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .is_ok()
}
