//! WAL checkpoints on a thread of their own. Left to SQLite, a checkpoint runs inside the
//! commit that crosses the threshold, fsyncs included, and every request waiting on that
//! commit (the audit writer group-commits one entry per look-up) waits for it too: the
//! cause of the look-up's tail latency. Here the writer never checkpoints; a background
//! connection runs a `PASSIVE` checkpoint of both files twice a second, which copies what
//! it can without blocking writers or readers. A bulk import pauses it (one checkpoint at
//! the end is cheaper than many during the load).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

const INTERVAL: Duration = Duration::from_millis(500);

/// WAL frames past which the log is restarted from its beginning. A `PASSIVE` checkpoint
/// never rewinds the log while writes keep coming, so it would grow without end.
const RESTART_FRAMES: i64 = 4096;

/// Copies what it can from the WAL of `db`; restarts the log once it is long. The restart
/// waits for the writer's current commit and holds the next one back briefly, but by then
/// the `PASSIVE` pass has copied nearly everything.
fn checkpoint(conn: &Connection, db: &str) -> rusqlite::Result<()> {
    let frames: i64 = conn.query_row(&format!("PRAGMA {db}.wal_checkpoint(PASSIVE)"), [], |r| r.get(1))?;
    if frames > RESTART_FRAMES {
        conn.query_row(&format!("PRAGMA {db}.wal_checkpoint(RESTART)"), [], |_| Ok(()))?;
    }
    Ok(())
}

/// Stops the thread when dropped (with the store).
pub(super) struct Checkpointer {
    _stop: Sender<()>,
    paused: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Starts checkpointing the database and its attached audit file through `conn`
    /// (opened and attached by the caller, with a busy timeout for the restarts).
    pub(super) fn start(conn: Connection) -> std::io::Result<Checkpointer> {
        let (stop, rx) = channel::<()>();
        let paused = Arc::new(AtomicBool::new(false));
        let flag = paused.clone();
        std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(INTERVAL) {
                if flag.load(Ordering::Relaxed) {
                    continue;
                }
                for db in ["main", "audit"] {
                    if let Err(e) = checkpoint(&conn, db) {
                        tracing::warn!(db, error = %e, "WAL checkpoint failed; retrying later");
                    }
                }
            }
        })?;
        Ok(Checkpointer { _stop: stop, paused })
    }

    /// Pauses (`true`) or resumes the background checkpoints.
    pub(super) fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }
}
