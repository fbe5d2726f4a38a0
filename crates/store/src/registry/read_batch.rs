//! Gathers the single-person verification reads of concurrent requests into one query
//! (PostgreSQL only). On PostgreSQL a read is a round trip, and under load the round trip,
//! not the index probe, is what costs: `pg_stat_statements` gave 22 µs of execution per
//! verification read while PostgreSQL's processes spent ~100 µs of CPU per verification,
//! and the server's driver its share again. SQLite reads on the calling thread and gains
//! nothing from this.
//!
//! No timer: a read that finds a slot free runs at once, alone. Reads that arrive while
//! [`IN_FLIGHT`] queries are running wait for a slot, and the next query takes all of them
//! (up to [`partners::CHUNK`]). Every request is still audited on its own by the caller.

use std::collections::HashMap;
use std::sync::Arc;

use dancu_domain::PersonalId;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::partners::{self, VerifyRow};
use crate::{Result, Store};

/// Queries running at once. Two keep one query's round trip overlapping the next one's
/// gathering; more only split the waiting reads into smaller queries.
const IN_FLIGHT: usize = 2;

/// The answer to one read: `None` when its shared query failed (the read is then run alone,
/// so that it gets its own error).
type Reply = oneshot::Sender<Option<Option<VerifyRow>>>;

/// The gathering task's queue; dropping the last handle ends the task.
pub(crate) struct VerifyReads {
    tx: mpsc::UnboundedSender<(PersonalId, Reply)>,
}

impl VerifyReads {
    /// Starts the gathering task on the current Tokio runtime, reading from `store`.
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<(PersonalId, Reply)>();
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(IN_FLIGHT));
            while let Some(first) = rx.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else { return };
                let mut batch = vec![first];
                while batch.len() < partners::CHUNK {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                let store = store.clone();
                tokio::spawn(async move {
                    let mut ids: Vec<PersonalId> = batch.iter().map(|(id, _)| *id).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    let rows = partners::verify_rows(store.as_ref(), &ids).await.ok();
                    drop(slot);
                    let found: Option<HashMap<PersonalId, VerifyRow>> =
                        rows.map(|rows| rows.into_iter().map(|r| (r.personal_id, r)).collect());
                    for (id, reply) in batch {
                        let _ = reply.send(found.as_ref().map(|f| f.get(&id).cloned()));
                    }
                });
            }
        });
        VerifyReads { tx }
    }

    /// The verification row of `id`, if it exists, read together with whatever other reads
    /// are waiting. Falls back to a read of its own when the shared query failed or the task
    /// is gone (its runtime shut down).
    pub(crate) async fn read(&self, store: &dyn Store, id: PersonalId) -> Result<Vec<VerifyRow>> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send((id, tx)).is_ok() {
            if let Ok(Some(row)) = rx.await {
                return Ok(row.into_iter().collect());
            }
        }
        partners::verify_rows(store, &[id]).await
    }
}
