//! The audit writer: one task that group-commits audit entries into the store's hash
//! chain and signs checkpoints of its head into a file outside the database.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{now, RegistryError, Result};
use crate::audit_chain::{AuditHead, AuditKey, AuditReport, Checkpoint, CheckpointLog, VerifyScope};
use crate::model::*;
use crate::{Store, StoreError};

/// One request's entries: committed together, in one group commit.
struct Pending {
    entries: Vec<NewAuditEntry>,
    done: oneshot::Sender<bool>,
}

/// Batches audit entries into the store; one transaction per batch.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Pending>,
}

/// Handle to the audit writer task; `shutdown` flushes what is queued.
pub struct AuditWriter {
    handle: JoinHandle<()>,
}

impl AuditWriter {
    /// Waits for every queued entry to be written. Call after dropping all sinks (the
    /// registry and the server state holding them).
    pub async fn shutdown(self) {
        let _ = self.handle.await;
    }
}

/// Where and how often the audit writer signs checkpoints of the chain's head.
#[derive(Debug, Clone)]
pub struct CheckpointPolicy {
    pub log: CheckpointLog,
    pub key: AuditKey,
    /// At most one checkpoint per interval while entries are appended, and one at shutdown.
    pub every: Duration,
    /// A second, off-host copy of every checkpoint (NATS JetStream, configured in the CLI).
    pub mirror: Option<Arc<dyn CheckpointMirror>>,
}

/// A place besides the checkpoint file where signed checkpoint lines are published and
/// read back: whoever can rewrite the database and the file must also reach this copy to
/// hide a truncation. Publishing failures are logged and retried with the next checkpoint;
/// the file stays the primary record.
#[async_trait::async_trait]
pub trait CheckpointMirror: Send + Sync + std::fmt::Debug {
    /// Where the copies go, for logs (`nats://host:4222 dancu.audit.checkpoints`).
    fn describe(&self) -> String;
    /// Publishes one signed line and waits for it to be stored.
    async fn publish(&self, line: &str) -> std::result::Result<(), String>;
    /// The newest line published, if any.
    async fn latest(&self) -> std::result::Result<Option<String>, String>;
}

impl CheckpointPolicy {
    /// Signs the head as the store has it now and appends it to the log.
    pub(crate) async fn write_now(&self, store: &dyn Store) -> std::result::Result<Checkpoint, StoreError> {
        let keyed_from = store.audit_keyed_from().await?;
        let head = store.append_audit(&[]).await?;
        self.write(&head, keyed_from).await
    }

    async fn write(&self, head: &AuditHead, keyed_from: i64) -> std::result::Result<Checkpoint, StoreError> {
        let cp = Checkpoint { seq: head.seq, hash: head.hash.clone(), keyed_from, at: now() };
        let (log, key, line) = (self.log.clone(), self.key.clone(), cp.clone());
        tokio::task::spawn_blocking(move || log.append(&line, &key))
            .await
            .map_err(StoreError::Task)?
            .map_err(|e| {
                StoreError::Config(format!("writing audit checkpoint {}: {e}", self.log.path().display()))
            })?;
        if let Some(m) = &self.mirror {
            if let Err(e) = m.publish(cp.to_line(&self.key).trim_end()).await {
                tracing::error!(error = %e, mirror = %m.describe(), seq = cp.seq, "audit checkpoint not published");
            }
        }
        Ok(cp)
    }
}

/// Checks the audit chain against the newest checkpoint in `policy.log`: the whole chain,
/// or (`tail_only`) from the checkpoint's entry on, which is what a server checks at start.
/// With a mirror, the newer of the file's and the mirror's checkpoints counts (a mirror
/// that cannot be read, or holds a line that fails its signature, is an error: verifying
/// against less than was promised would hide a truncation).
pub(crate) async fn verify_audit(
    store: &dyn Store,
    policy: &CheckpointPolicy,
    tail_only: bool,
) -> std::result::Result<AuditReport, StoreError> {
    let (log, key2) = (policy.log.clone(), policy.key.clone());
    let mut checkpoint =
        tokio::task::spawn_blocking(move || log.latest(&key2)).await.map_err(StoreError::Task)??;
    if let Some(m) = &policy.mirror {
        let unreadable =
            |e: String| StoreError::Config(format!("audit checkpoints at {}: {e}", m.describe()));
        if let Some(line) = m.latest().await.map_err(unreadable)? {
            let mirrored = Checkpoint::from_line(line.trim_end(), &policy.key).map_err(unreadable)?;
            if checkpoint.as_ref().is_none_or(|c| c.seq < mirrored.seq) {
                checkpoint = Some(mirrored);
            }
        }
    }
    store.verify_audit(&VerifyScope { checkpoint, tail_only }).await
}

impl AuditSink {
    /// Starts the writer task. Up to `max_batch` entries are committed together. With a
    /// checkpoint policy, the head is signed into its log after appends (at most once per
    /// interval) and when the writer stops.
    pub fn start(
        store: Arc<dyn Store>,
        max_batch: usize,
        checkpoints: Option<CheckpointPolicy>,
    ) -> (AuditSink, AuditWriter) {
        let (tx, mut rx) = mpsc::channel::<Pending>(max_batch * 4);
        let handle = tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
            let mut keyed_from: Option<i64> = None;
            let mut last_checkpoint = std::time::Instant::now();
            // The newest head not yet signed.
            let mut unsigned: Option<AuditHead> = None;
            while rx.recv_many(&mut batch, max_batch).await > 0 {
                let entries: Vec<NewAuditEntry> =
                    batch.iter().flat_map(|p| p.entries.iter().cloned()).collect();
                let mut ok = false;
                for attempt in 0..3 {
                    match store.append_audit(&entries).await {
                        Ok(head) => {
                            ok = true;
                            unsigned = Some(head);
                            break;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, attempt, "audit append failed");
                            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                        }
                    }
                }
                for p in batch.drain(..) {
                    let _ = p.done.send(ok);
                }
                if let Some(policy) = &checkpoints {
                    if last_checkpoint.elapsed() >= policy.every {
                        sign(&*store, policy, &mut unsigned, &mut keyed_from).await;
                        last_checkpoint = std::time::Instant::now();
                    }
                }
            }
            if let Some(policy) = &checkpoints {
                sign(&*store, policy, &mut unsigned, &mut keyed_from).await;
            }
        });
        (AuditSink { tx }, AuditWriter { handle })
    }

    /// Records one entry and waits until it is committed.
    pub async fn record(&self, entry: NewAuditEntry) -> Result<()> {
        self.record_all(vec![entry]).await
    }

    /// Queues entries without waiting for their commit: for the outcome of a write whose
    /// `Attempt` entry is already stored (the write is on record either way). The writer
    /// commits them in its next batch, and flushes them at shutdown.
    pub async fn record_later(&self, entries: Vec<NewAuditEntry>) {
        let (done, _) = oneshot::channel();
        if self.tx.send(Pending { entries, done }).await.is_err() {
            tracing::error!("audit writer stopped; an outcome entry was not queued");
        }
    }

    /// Records entries (committed in the same transaction) and waits for the commit.
    pub async fn record_all(&self, entries: Vec<NewAuditEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx.send(Pending { entries, done }).await.map_err(|_| RegistryError::AuditUnavailable)?;
        match wait.await {
            Ok(true) => Ok(()),
            _ => Err(RegistryError::AuditUnavailable),
        }
    }
}

/// Signs `unsigned` (if any) into the checkpoint log; a failure is logged, and the head
/// stays unsigned for the next try.
async fn sign(
    store: &dyn Store,
    policy: &CheckpointPolicy,
    unsigned: &mut Option<AuditHead>,
    keyed_from: &mut Option<i64>,
) {
    let Some(head) = unsigned.clone() else { return };
    let k = match keyed_from {
        Some(k) => *k,
        None => match store.audit_keyed_from().await {
            Ok(k) => *keyed_from.insert(k),
            Err(e) => {
                tracing::error!(error = %e, "audit checkpoint: cannot read keyed_from");
                return;
            }
        },
    };
    match policy.write(&head, k).await {
        Ok(_) => *unsigned = None,
        Err(e) => tracing::error!(error = %e, "audit checkpoint not written"),
    }
}
