//! The dancu HTTP server: officer JSON API (`/api/v1`), officer web pages, health and
//! metrics endpoints and the OpenAPI document. Personal data is reached only through
//! [`dancu_store::registry::Registry`], which scopes and audits every access.

pub mod api;
pub mod auth;
pub mod citizen_auth;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod web;

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dancu_store::registry::Registry;

use crate::auth::{LoginThrottle, TokenKeys};
use crate::metrics::Metrics;

/// Settings the server needs; the CLI fills them from defaults, file, environment, flags.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Mark cookies `Secure` (on for production; browsers accept it on http://localhost).
    pub cookie_secure: bool,
    pub session_ttl: Duration,
    /// Lifetime of a citizen portal session (short: it may be a shared phone).
    pub citizen_session_ttl: Duration,
    pub token_ttl: Duration,
    pub max_body_bytes: usize,
    /// Secret for signing bearer tokens (at least 32 bytes).
    pub token_secret: Vec<u8>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            cookie_secure: true,
            session_ttl: Duration::from_secs(8 * 3600),
            citizen_session_ttl: Duration::from_secs(15 * 60),
            token_ttl: Duration::from_secs(3600),
            max_body_bytes: 64 * 1024,
            token_secret: auth::random_token().into_bytes(),
        }
    }
}

pub struct Inner {
    pub registry: Registry,
    pub config: ServerConfig,
    pub keys: TokenKeys,
    pub metrics: Metrics,
    pub login_throttle: LoginThrottle,
}

/// Shared application state (cheap to clone).
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(registry: Registry, config: ServerConfig) -> Self {
        let keys = TokenKeys::from_secret(&config.token_secret);
        AppState(Arc::new(Inner {
            registry,
            config,
            keys,
            metrics: Metrics::new(),
            login_throttle: LoginThrottle::default(),
        }))
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi::serve))
        .merge(api::routes())
        .merge(web::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
}

/// Headers on every response: no framing, no sniffing, no referrer, scripts and styles
/// only from this server, and no caching of anything that may hold personal data.
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    );
    h.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    if !is_static {
        h.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    resp
}

async fn not_found() -> Response {
    error::ApiError::not_found().into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(axum::extract::State(s): axum::extract::State<AppState>) -> Response {
    match s.registry.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics_text(axum::extract::State(s): axum::extract::State<AppState>) -> Response {
    let citizens = s.registry.store().count_citizens().await.map(|n| n as f64).unwrap_or(-1.0);
    let body = s.metrics.render(&[("dancu_citizens", "Citizens stored.", citizens)]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
