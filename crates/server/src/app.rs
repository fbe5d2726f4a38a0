//! Building and running the application: the one sequence that `dancu serve`, `dancu demo`
//! and the test suites share. Build checks the audit chain from its newest checkpoint
//! (refusing a broken one), signs its head, starts the audit writer and the registry on it;
//! serving ends with in-flight requests finished, the audit log flushed and its head signed.

use dancu_store::audit_chain::AuditReport;
use dancu_store::registry::{AuditWriter, CheckpointPolicy};
use dancu_store::{Database, StoreError};

use crate::{AppState, ServerConfig};

/// Audit entries committed together at most.
const AUDIT_BATCH: usize = 512;

/// Why the application did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A forged, edited or truncated audit log: serving would append to it and bury the
    /// evidence.
    #[error(
        "the audit log is broken at entry {seq} ({kind}); refusing to start. Run `dancu audit verify` \
         and restore the database from a backup (docs/OPERATIONS.md)"
    )]
    AuditBroken { seq: i64, kind: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A built application, ready to serve.
pub struct Application {
    state: AppState,
    writer: AuditWriter,
}

impl Application {
    /// Verifies the audit chain's tail against the newest checkpoint in `audit.log` and signs
    /// its head, then starts the audit writer (checkpoints per `audit`) and the registry.
    pub async fn build(
        db: Database,
        config: ServerConfig,
        audit: CheckpointPolicy,
    ) -> Result<Self, StartError> {
        let report = db.verify_audit(&audit, true).await?;
        refuse_broken(&report)?;
        if report.checkpoint_seq.is_none() && report.last_seq > 0 {
            tracing::warn!(
                checkpoints = %audit.log.path().display(),
                entries = report.last_seq,
                "no audit checkpoint found: entries cut off the end of the log before now cannot be detected"
            );
        }
        let cp = db.sign_audit_head(&audit).await?;
        tracing::info!(seq = cp.seq, checked = report.checked, checkpoints = %audit.log.path().display(),
            "audit chain verified and signed");
        let (registry, writer) = db.start_registry(AUDIT_BATCH, Some(audit));
        Ok(Application { state: AppState::new(db, registry, config), writer })
    }

    /// The shared state (tests read the throttle, metrics and database through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves on `listener` (and `/metrics` alone on `metrics`, when given) until `shutdown`
    /// resolves; then finishes in-flight requests, flushes the audit log and signs its head.
    /// Clones of the state held elsewhere keep the audit writer open until they are dropped.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        metrics: Option<tokio::net::TcpListener>,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Application { state, writer } = self;
        tracing::info!(addr = %listener.local_addr()?, "listening");
        let metrics_task = match metrics {
            Some(l) => {
                tracing::info!(addr = %l.local_addr()?, "serving /metrics");
                Some(tokio::spawn(crate::serve_metrics(l, state.clone(), std::future::pending())))
            }
            None => None,
        };
        let dispatcher = state.config.webhooks.enabled.then(|| crate::webhooks::spawn(state.clone()));
        let publisher = state.config.nats_feed.clone().map(|c| crate::nats_feed::spawn(state.clone(), c));
        let partners = state.clone();
        let served = crate::serve(listener, state, shutdown).await;
        if let Some(t) = metrics_task {
            t.abort();
            let _ = t.await;
        }
        for t in [dispatcher, publisher].into_iter().flatten() {
            // A delivery cut short is retried when its lease expires.
            t.abort();
            let _ = t.await;
        }
        // The partner call counts still in memory.
        crate::api::partner::flush_counts(&partners).await;
        drop(partners);
        // The router, and with it every audit sink, is dropped by now.
        writer.shutdown().await;
        tracing::info!("stopped; audit log flushed and signed");
        served
    }
}

fn refuse_broken(report: &AuditReport) -> Result<(), StartError> {
    match &report.broken {
        Some(b) => Err(StartError::AuditBroken { seq: b.seq, kind: b.kind.describe().to_string() }),
        None => Ok(()),
    }
}
