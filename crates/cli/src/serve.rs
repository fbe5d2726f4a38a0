//! `dancu serve`: open the store, check the audit chain, start the audit writer, serve until
//! Ctrl-C / SIGTERM, then finish in-flight requests, flush the audit log and sign its head.

use std::sync::Arc;

use anyhow::{bail, Result};
use dancu_store::registry::{verify_audit, CheckpointPolicy};
use dancu_store::Store;

use crate::config::{checkpoint_policy, redact, ServeSettings};

pub async fn run(s: ServeSettings) -> Result<()> {
    let audit = checkpoint_policy(&s.database_url, s.audit_checkpoint_every)?;
    let store = dancu_store::open(&s.database_url, audit.key.clone()).await?;
    let listener = tokio::net::TcpListener::bind(s.listen).await?;
    let metrics = match s.metrics_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    tracing::info!(database = %redact(&s.database_url), backend = store.backend(), "store ready");
    serve_with_metrics(store, listener, metrics, s.server, audit, None).await
}

/// Checks the audit chain from the newest checkpoint on and refuses to serve on a broken
/// one: a server that appended to a forged or truncated log would bury the evidence. With no
/// checkpoint yet (a new installation, or an upgrade) it checks the whole chain and warns.
/// An intact chain's head is signed at once.
pub async fn check_audit_at_start(store: &dyn Store, p: &CheckpointPolicy) -> Result<()> {
    let report = verify_audit(store, &p.log, &p.key, true).await?;
    if let Some(b) = report.broken {
        bail!(
            "the audit log is broken at entry {} ({}); refusing to start. Run `dancu audit verify` \
             and restore the database from a backup (docs/OPERATIONS.md)",
            b.seq,
            b.kind.describe()
        );
    }
    if report.checkpoint_seq.is_none() && report.last_seq > 0 {
        tracing::warn!(
            checkpoints = %p.log.path().display(),
            entries = report.last_seq,
            "no audit checkpoint found: entries cut off the end of the log before now cannot be detected"
        );
    }
    let cp = p.write_now(store).await?;
    tracing::info!(seq = cp.seq, checked = report.checked, checkpoints = %p.log.path().display(), "audit chain verified and signed");
    Ok(())
}

/// Serves on an already bound listener; prints `banner` once listening.
pub async fn serve_on(
    store: Arc<dyn Store>,
    listener: tokio::net::TcpListener,
    config: dancu_server::ServerConfig,
    audit: CheckpointPolicy,
    banner: Option<String>,
) -> Result<()> {
    serve_with_metrics(store, listener, None, config, audit, banner).await
}

/// [`serve_on`], with `/metrics` also served on a listener of its own.
pub async fn serve_with_metrics(
    store: std::sync::Arc<dyn dancu_store::Store>,
    listener: tokio::net::TcpListener,
    metrics: Option<tokio::net::TcpListener>,
    config: dancu_server::ServerConfig,
    audit: CheckpointPolicy,
    banner: Option<String>,
) -> Result<()> {
    check_audit_at_start(store.as_ref(), &audit).await?;
    let (registry, writer) = crate::config::registry_for(store, audit);
    let state = dancu_server::AppState::new(registry, config);
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    let metrics_task = match metrics {
        Some(l) => {
            tracing::info!(addr = %l.local_addr()?, "serving /metrics");
            Some(tokio::spawn(dancu_server::serve_metrics(l, state.clone(), std::future::pending())))
        }
        None => None,
    };
    if let Some(b) = banner {
        println!("{b}");
    }
    dancu_server::serve(listener, state, shutdown_signal()).await?;
    if let Some(t) = metrics_task {
        t.abort();
    }
    // The router (and with it every audit sink) is dropped when serve returns.
    writer.shutdown().await;
    tracing::info!("stopped; audit log flushed and signed");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
