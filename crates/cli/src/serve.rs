//! `dancu serve`: open the database, build the application (which checks the audit chain
//! and starts the audit writer), serve until Ctrl-C / SIGTERM, then finish in-flight
//! requests, flush the audit log and sign its head.

use anyhow::Result;
use dancu_server::Application;
use dancu_store::Database;

use crate::config::{checkpoint_policy, redact, ServeSettings};

pub async fn run(s: ServeSettings) -> Result<()> {
    let audit = checkpoint_policy(&s.database_url, s.audit_checkpoint_every).await?;
    let db = match &s.database_replica_url {
        Some(replica) => Database::open_with_replica(&s.database_url, replica, audit.key.clone()).await?,
        None => Database::open(&s.database_url, audit.key.clone()).await?,
    };
    let listener = tokio::net::TcpListener::bind(s.listen).await?;
    let metrics = match s.metrics_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    tracing::info!(
        database = %redact(&s.database_url),
        replica = %s.database_replica_url.as_deref().map(redact).unwrap_or_default(),
        backend = db.backend(),
        "store ready"
    );
    let app = Application::build(db, s.server, audit).await?;
    app.serve(listener, metrics, shutdown_signal()).await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
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
