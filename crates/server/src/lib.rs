//! The dancu HTTP server: officer JSON API (`/api/v1`), officer web pages, health and
//! metrics endpoints and the OpenAPI document. Personal data is reached only through
//! [`dancu_store::registry::Registry`], which scopes and audits every access.

pub mod api;
pub mod app;
pub mod auth;
pub mod chains;
pub mod citizen_auth;
pub mod confirm;
pub mod error;
pub mod metrics;
pub mod nats_feed;
pub mod oidc;
pub mod openapi;
pub mod revocation;
pub mod secrets;
pub mod throttle;
pub mod web;
pub mod webhooks;

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dancu_store::registry::Registry;
use dancu_store::{Accounts, Database};

pub use app::{Application, StartError};

use crate::auth::{LoginThrottle, TokenKeys};
use crate::metrics::Metrics;
use crate::throttle::HashLimiter;

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
    /// Password hashes (argon2id, 19 MiB each) computed at once; default: the core count.
    pub hash_slots: usize,
    /// Requests that may wait for a hashing slot; beyond that `429 busy` at once.
    pub hash_queue: usize,
    /// Keys the login throttle keeps at most.
    pub throttle_capacity: usize,
    /// Failures allowed per client address and in all, per window (see [`throttle`]).
    pub login_limits: throttle::Limits,
    /// Proxies whose `X-Forwarded-For` names the client; default none.
    pub trusted_proxies: throttle::TrustedProxies,
    /// Bearer token that `/metrics` on the main listener asks for; `None`: `/metrics` is
    /// not served there (only on a separate metrics listener, see [`serve_metrics`]).
    pub metrics_token: Option<String>,
    /// How often the database gauges (`dancu_citizens`) are refreshed.
    pub metrics_refresh: Duration,
    /// How often every officer's token epoch is reloaded: a deactivated or re-scoped
    /// officer's bearer tokens stop working within this time on every server.
    pub revocation_refresh: Duration,
    /// Keys that seal TOTP secrets and key reset-code MACs (the first is current).
    pub secret_keys: secrets::SecretKeys,
    /// Serve `GET /api/v1/bench/constant`, the look-up benchmark's constant baseline. Off
    /// unless a benchmark asks for it: production answers 404 there.
    pub bench_endpoint: bool,
    /// The OpenID Connect provider and client credentials (issuer, keys, lifetimes).
    pub oidc: oidc::OidcConfig,
    /// The keys that sign residence confirmations' QR codes (a file outside the database).
    pub confirm_keys: Arc<confirm::ConfirmKeys>,
    /// Public confirmation checks allowed per client address.
    pub verify_limit: confirm::VerifyLimit,
    /// The webhook dispatcher (off by default here; `dancu serve` turns it on).
    pub webhooks: webhooks::WebhookConfig,
    /// Publish the change feed to NATS JetStream (off unless given).
    pub nats_feed: Option<nats_feed::NatsFeedConfig>,
    /// The linked procedures' worker (docs/CHAINS.md).
    pub chains: chains::ChainConfig,
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
            hash_slots: cores(),
            hash_queue: 8 * cores(),
            throttle_capacity: throttle::DEFAULT_CAPACITY,
            login_limits: Default::default(),
            trusted_proxies: Default::default(),
            metrics_token: Some(auth::random_token()),
            metrics_refresh: Duration::from_secs(30),
            revocation_refresh: Duration::from_secs(2),
            secret_keys: secrets::SecretKeys::random(),
            bench_endpoint: false,
            oidc: Default::default(),
            confirm_keys: Arc::new(confirm::ConfirmKeys::ephemeral()),
            verify_limit: Default::default(),
            webhooks: Default::default(),
            nats_feed: None,
            chains: Default::default(),
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

pub struct Inner {
    /// Health, counts and audit verification; no personal data.
    pub db: Database,
    /// The only door to personal data.
    pub registry: Registry,
    /// Authentication's door: officers, sessions, token epochs, TOTP secrets.
    pub accounts: Accounts,
    pub config: ServerConfig,
    pub keys: TokenKeys,
    pub metrics: Metrics,
    pub login_throttle: LoginThrottle,
    /// Bounds concurrent argon2 work.
    pub hasher: HashLimiter,
    /// Officers' token epochs (bearer-token revocation).
    pub revocation: revocation::Revocation,
    /// Seals TOTP secrets, keys reset codes.
    pub secrets: secrets::Secrets,
    /// Partner systems: cached entitlements, rate limits, call counts.
    pub partners: api::partner::PartnerRuntime,
    /// OAuth clients cache, refusal counts (the provider's run-time state).
    pub oidc: oidc::Oidc,
    /// Public confirmation checks: the per-address limit and the counts.
    pub verify: confirm::VerifyRuntime,
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
    pub fn new(db: Database, registry: Registry, config: ServerConfig) -> Self {
        let keys = TokenKeys::from_secret(&config.token_secret);
        let login_throttle = LoginThrottle::new(config.throttle_capacity, throttle::IDLE_EXPIRY)
            .with_limits(config.login_limits)
            .shared(db.accounts().throttle());
        // Several servers share one PostgreSQL database; a SQLite file has one server.
        let partners = if db.backend() == "postgres" {
            api::partner::PartnerRuntime::shared(db.accounts().throttle())
        } else {
            Default::default()
        };
        AppState(Arc::new(Inner {
            accounts: db.accounts(),
            db,
            registry,
            keys,
            metrics: Metrics::new(),
            login_throttle,
            hasher: HashLimiter::new(config.hash_slots, config.hash_queue),
            revocation: Default::default(),
            secrets: secrets::Secrets::new(config.secret_keys.clone()),
            partners,
            oidc: Default::default(),
            verify: Default::default(),
            config,
        }))
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api::routes(state.config.bench_endpoint);
    let doc = openapi::Document::new(&doc);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::serve_text))
        .route("/openapi.json", get(move || async move { doc.serve() }))
        .merge(api)
        .merge(web::routes())
        .merge(oidc::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn_with_state(state.clone(), throttle::client::layer))
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
    // A page may widen `form-action` to the one origin its form leads to (the OIDC pages:
    // the relying party's redirect URI); nothing else sets its own policy.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(
                "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
            ),
        );
    }
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
    match s.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let gauges = tokio::spawn(metrics::refresh_gauges(state.clone(), state.config.metrics_refresh));
    let epochs = tokio::spawn(revocation::refresh_task(state.clone(), state.config.revocation_refresh));
    let oidc = tokio::spawn(oidc::refresh_task(state.clone(), state.config.oidc.reload));
    let rollup = tokio::spawn(compact_report_rollup(state.clone()));
    // Failed linked-procedure steps are retried by every server (leases keep them apart).
    let chains = state.config.chains.enabled.then(|| chains::spawn(state.clone()));
    let reseal_state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = secrets::reseal_totp_secrets(&reseal_state).await {
            tracing::error!(error = %e, "re-sealing TOTP secrets failed");
        }
    });
    // The peer address feeds the per-IP login limit (`throttle::client`).
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    gauges.abort();
    epochs.abort();
    oidc.abort();
    rollup.abort();
    if let Some(t) = chains {
        // A step cut short is run again when its lease expires.
        t.abort();
    }
    served
}

/// Every minute, folds the report rollup's deltas (PostgreSQL: one row per submitting
/// statement until folded; the dashboard sums them either way).
async fn compact_report_rollup(state: AppState) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        if let Err(e) = state.db.compact_report_rollup().await {
            tracing::warn!(error = %e, "report rollup: compaction failed");
        }
    }
}

/// Serves `/metrics` alone, without a token, on a listener of its own (an address only the
/// monitoring network reaches), until `shutdown` resolves.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route(
            "/metrics",
            get(|axum::extract::State(s): axum::extract::State<AppState>| async move { metrics::text(&s) }),
        )
        .fallback(not_found)
        .with_state(state);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
