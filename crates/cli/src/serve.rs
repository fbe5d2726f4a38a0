//! `dancu serve`: open the store, start the audit writer, serve until Ctrl-C / SIGTERM,
//! then finish in-flight requests and flush the audit log.

use anyhow::Result;
use dancu_store::registry::{AuditSink, Registry};

use crate::config::{redact, ServeSettings};

pub async fn run(s: ServeSettings) -> Result<()> {
    let store = dancu_store::open(&s.database_url).await?;
    let listener = tokio::net::TcpListener::bind(s.listen).await?;
    let metrics = match s.metrics_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    tracing::info!(database = %redact(&s.database_url), backend = store.backend(), "store ready");
    serve_with_metrics(store, listener, metrics, s.server, None).await
}

/// Serves on an already bound listener; prints `banner` once listening.
pub async fn serve_on(
    store: std::sync::Arc<dyn dancu_store::Store>,
    listener: tokio::net::TcpListener,
    config: dancu_server::ServerConfig,
    banner: Option<String>,
) -> Result<()> {
    serve_with_metrics(store, listener, None, config, banner).await
}

/// [`serve_on`], with `/metrics` also served on a listener of its own.
pub async fn serve_with_metrics(
    store: std::sync::Arc<dyn dancu_store::Store>,
    listener: tokio::net::TcpListener,
    metrics: Option<tokio::net::TcpListener>,
    config: dancu_server::ServerConfig,
    banner: Option<String>,
) -> Result<()> {
    let (sink, writer) = AuditSink::start(store.clone(), 512);
    let state = dancu_server::AppState::new(Registry::new(store, sink), config);
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
    tracing::info!("stopped; audit log flushed");
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
