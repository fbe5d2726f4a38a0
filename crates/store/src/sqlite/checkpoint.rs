//! WAL checkpoints on a thread of their own. Left to SQLite, a checkpoint runs inside the
//! commit that crosses the threshold, fsyncs included, and every request waiting on that
//! commit (the audit writer group-commits one entry per look-up) waits for it too: the
//! cause of the look-up's tail latency. Here the writer never checkpoints; a background
//! connection runs a `PASSIVE` checkpoint of both files twice a second, which copies what
//! it can without blocking writers or readers. A bulk import pauses it (one checkpoint at
//! the end is cheaper than many during the load).
//!
//! The WAL files stay bounded: every connection that writes has a `journal_size_limit`
//! ([`JOURNAL_LIMIT`]), so a log that was restarted is cut back to it; once the database
//! has been idle for a pass, a `TRUNCATE` checkpoint empties the file; and the thread's
//! last act, when the store is dropped (at shutdown), is a `TRUNCATE` checkpoint too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

const INTERVAL: Duration = Duration::from_millis(500);

/// WAL frames past which the log is restarted from its beginning. A `PASSIVE` checkpoint
/// never rewinds the log while writes keep coming, so it would grow without end. 2,048
/// frames are 8 MiB of 4 KiB pages (32 MiB, the [`JOURNAL_LIMIT`], in a file made
/// with 16 KiB pages).
const RESTART_FRAMES: i64 = 2048;

/// How long a `RESTART` waits for the writers and readers before it gives up until the next
/// pass (5 s).
const RESTART_WAIT: fn(i32) -> bool = super::busy_wait::<5>;

/// The size a WAL file is cut back to when its log restarts (`PRAGMA journal_size_limit`).
pub const JOURNAL_LIMIT: i64 = 32 << 20;

/// Sets [`JOURNAL_LIMIT`] on the files of a connection that writes or checkpoints: its
/// `main`, and the attached audit file when `audit` (the checkpointer's).
pub(super) fn limit_journal(conn: &Connection, audit: bool) -> rusqlite::Result<()> {
    for db in ["main", "audit"].into_iter().take(1 + audit as usize) {
        conn.query_row(&format!("PRAGMA {db}.journal_size_limit = {JOURNAL_LIMIT}"), [], |_| Ok(()))?;
    }
    Ok(())
}

/// Copies what it can from the WAL of `db`; restarts the log once it is long. The restart
/// waits for the writer's current commit and holds the next one back briefly, but by then
/// the `PASSIVE` pass has copied nearly everything. Returns the log's frames.
fn checkpoint(conn: &Connection, db: &str) -> rusqlite::Result<i64> {
    let frames: i64 = conn.query_row(&format!("PRAGMA {db}.wal_checkpoint(PASSIVE)"), [], |r| r.get(1))?;
    if frames > RESTART_FRAMES {
        conn.query_row(&format!("PRAGMA {db}.wal_checkpoint(RESTART)"), [], |_| Ok(()))?;
    }
    Ok(frames)
}

/// Copies everything and empties the WAL file of `db` (waits for readers and the writer).
pub(super) fn truncate(conn: &Connection, db: &str) -> rusqlite::Result<()> {
    conn.query_row(&format!("PRAGMA {db}.wal_checkpoint(TRUNCATE)"), [], |_| Ok(()))
}

/// [`truncate`] without waiting: a reader still on the log makes it give up until the next
/// idle pass (no write is held back for it). The log's frames after it.
fn idle_truncate(conn: &Connection, db: &str) -> rusqlite::Result<i64> {
    conn.busy_timeout(Duration::ZERO)?;
    let busy: rusqlite::Result<i64> =
        conn.query_row(&format!("PRAGMA {db}.wal_checkpoint(TRUNCATE)"), [], |r| r.get(0));
    conn.busy_handler(Some(RESTART_WAIT))?;
    match busy {
        Ok(0) => Ok(0),
        Ok(_) | Err(rusqlite::Error::SqliteFailure(_, _)) => Ok(-1),
        Err(e) => Err(e),
    }
}

/// Stops the thread when dropped (with the store).
pub(super) struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    paused: Arc<AtomicBool>,
}

impl Drop for Checkpointer {
    /// Stops the thread and waits for its final `TRUNCATE` checkpoint.
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Checkpointer {
    /// Starts checkpointing the database and its attached audit file through `conn`
    /// (opened and attached by the caller).
    pub(super) fn start(conn: Connection) -> std::io::Result<Checkpointer> {
        conn.busy_handler(Some(RESTART_WAIT)).map_err(std::io::Error::other)?;
        let (stop, rx) = channel::<()>();
        let paused = Arc::new(AtomicBool::new(false));
        let flag = paused.clone();
        limit_journal(&conn, true).map_err(std::io::Error::other)?;
        let thread = std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
            // Each file's log length at the last pass: unchanged and not empty means idle.
            let mut last = [0i64; 2];
            while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(INTERVAL) {
                if flag.load(Ordering::Relaxed) {
                    continue;
                }
                for (i, db) in ["main", "audit"].into_iter().enumerate() {
                    let frames = checkpoint(&conn, db).and_then(|frames| {
                        if frames > 0 && frames == last[i] {
                            return idle_truncate(&conn, db);
                        }
                        Ok(frames)
                    });
                    match frames {
                        Ok(f) => last[i] = f,
                        Err(e) => tracing::warn!(db, error = %e, "WAL checkpoint failed; retrying later"),
                    }
                }
            }
            for db in ["main", "audit"] {
                if let Err(e) = truncate(&conn, db) {
                    tracing::warn!(db, error = %e, "final WAL checkpoint failed");
                }
            }
        })?;
        Ok(Checkpointer { stop: Some(stop), thread: Some(thread), paused })
    }

    /// Pauses (`true`) or resumes the background checkpoints.
    pub(super) fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit_chain::AuditKey;
    use crate::exec::{SqlExec, Stmt, Val};
    use crate::sqlite::{audit_path, SqliteStore};

    fn wal_len(db: &std::path::Path) -> u64 {
        std::fs::metadata(format!("{}-wal", db.display())).map(|m| m.len()).unwrap_or(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wal_files_are_cut_back_after_a_burst_and_emptied_at_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let audit = std::path::PathBuf::from(audit_path(path.to_str().unwrap()));
        let store =
            SqliteStore::open(&format!("sqlite://{}", path.display()), AuditKey::generate()).await.unwrap();
        let audit_writer = || store.inner.audit_writer.as_ref().unwrap().lock().unwrap();
        let limits: Vec<i64> = [store.inner.writer.lock().unwrap(), audit_writer()]
            .iter()
            .map(|c| c.query_row("PRAGMA journal_size_limit", [], |r| r.get(0)).unwrap())
            .collect();
        assert_eq!(limits, vec![JOURNAL_LIMIT, JOURNAL_LIMIT]);
        store.transaction(vec![Stmt::new("CREATE TABLE t (x TEXT)", vec![])]).await.unwrap();
        audit_writer().execute_batch("CREATE TABLE t (x TEXT)").unwrap();
        // About 50 MB into each file, more than the limit, each by its own writer.
        let blob = "x".repeat(64 << 10);
        for _ in 0..800 {
            let row = Stmt::new("INSERT INTO t VALUES ($1)", vec![Val::Text(blob.clone())]);
            store.transaction(vec![row]).await.unwrap();
            audit_writer().execute("INSERT INTO t VALUES (?1)", [&blob]).unwrap();
        }
        // Idle now: the checkpointer's next passes empty both logs (deadline, not a timing claim).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while (wal_len(&path) > JOURNAL_LIMIT as u64 || wal_len(&audit) > JOURNAL_LIMIT as u64)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(wal_len(&path) <= JOURNAL_LIMIT as u64, "main WAL {} bytes", wal_len(&path));
        assert!(wal_len(&audit) <= JOURNAL_LIMIT as u64, "audit WAL {} bytes", wal_len(&audit));
        // A last write, then shutdown: the final checkpoint leaves both files empty.
        store.transaction(vec![Stmt::new("INSERT INTO main.t VALUES ('last')", vec![])]).await.unwrap();
        assert!(wal_len(&path) > 0);
        drop(store);
        assert_eq!((wal_len(&path), wal_len(&audit)), (0, 0));
    }
}
