//! The OpenID Connect provider for relying parties (public-service portals) and OAuth 2.0
//! client credentials for partners (agency systems). docs/OIDC.md describes the endpoints.
//!
//! - `keys`: ES256 signing keys in a key directory, JWKS, rotation;
//! - `discovery`: `/.well-known/openid-configuration` and `/oauth/jwks`;
//! - `clients`: registered clients cached in memory (reloaded like officers' epochs),
//!   registration rules, client authentication;
//! - `authorize`: `/oauth/authorize` with its login, step-up and consent pages;
//! - `session`: the provider's login session (cookie on `/oauth`), login and step-up;
//! - `token`: `/oauth/token` (authorization code with PKCE, refresh with rotation, client
//!   credentials);
//! - `userinfo`: `/oauth/userinfo`, claims by scope through the audited registry;
//! - `logout`: `/oauth/logout`, RP-initiated logout;
//! - `pairwise`: pairwise subject identifiers;
//! - `bearer`: the [`bearer::ClientToken`] extractor partner APIs use;
//! - `errors`: OAuth error answers, counted by endpoint and code.

pub mod authorize;
pub mod bearer;
pub mod clients;
pub mod discovery;
pub mod errors;
pub mod keys;
pub mod logout;
pub mod pairwise;
pub mod session;
pub mod token;
pub mod userinfo;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;

use crate::AppState;

/// The provider's settings.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer: the server's public base URL, without a trailing slash.
    pub issuer: String,
    /// Signing keys and the pairwise-subject secret.
    pub keys: Arc<keys::KeySet>,
    /// How often the client cache and the key directory are re-read: a disabled client's
    /// tokens stop working within this time on every server.
    pub reload: Duration,
    /// Lifetime of a partner's client-credentials access token (at most 600 s).
    pub partner_token_ttl: Duration,
    /// Lifetime of a relying party's access and ID tokens.
    pub access_token_ttl: Duration,
    pub code_ttl: Duration,
    pub refresh_ttl: Duration,
    /// Lifetime of the provider's login session (cookie on `/oauth`).
    pub session_ttl: Duration,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer: DEFAULT_ISSUER.into(),
            keys: Arc::new(keys::KeySet::ephemeral()),
            reload: Duration::from_secs(2),
            partner_token_ttl: Duration::from_secs(300),
            access_token_ttl: Duration::from_secs(300),
            code_ttl: Duration::from_secs(60),
            refresh_ttl: Duration::from_secs(8 * 3600),
            session_ttl: Duration::from_secs(15 * 60),
        }
    }
}

/// The issuer when none is configured.
pub const DEFAULT_ISSUER: &str = "http://localhost:8080";

/// The longest a client-credentials token may live.
pub const MAX_PARTNER_TOKEN_TTL: Duration = Duration::from_secs(600);

/// The provider's run-time state in [`crate::AppState`].
#[derive(Default)]
pub struct Oidc {
    pub clients: clients::ClientCache,
    pub refusals: errors::Refusals,
    pub assertions: clients::AssertionReplay,
    /// Partner tokens already verified (`bearer::verify`).
    pub verified: bearer::VerifiedTokens,
}

impl OidcConfig {
    /// The audience of partner (client-credentials) tokens.
    pub fn partner_audience(&self) -> String {
        format!("{}/api/v1/partner", self.issuer)
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth/token", self.issuer)
    }
}

/// The provider's pages. Its JSON endpoints (discovery, JWKS, token, userinfo) are in the
/// OpenAPI document, so they are routed with it in [`crate::api::routes`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/authorize", get(authorize::authorize_get).post(authorize::authorize_post))
        .route("/oauth/logout", get(logout::logout).post(logout::logout))
}

/// Reloads the clients and the key directory every `every`, and sweeps expired codes and
/// sessions, until the server stops.
pub async fn refresh_task(state: AppState, every: Duration) {
    let mut swept = std::time::Instant::now();
    loop {
        // Expired codes and sessions go once a minute (refresh families stay: their
        // revocation is what refuses a late reuse).
        if swept.elapsed() >= Duration::from_secs(60) {
            swept = std::time::Instant::now();
            if let Err(e) = state.db.oidc().sweep(dancu_store::registry::now()).await {
                tracing::warn!(error = %e, "sweeping expired OIDC codes and sessions failed");
            }
        }
        if let Err(e) = state.oidc.clients.refresh(&state.db.oidc()).await {
            tracing::warn!(error = %e, "reloading OAuth clients failed; retrying");
        }
        if let Err(e) = state.config.oidc.keys.reload() {
            tracing::error!(error = %e, "reloading the OIDC signing keys failed; keeping the keys in use");
        }
        state.oidc.assertions.prune();
        tokio::time::sleep(every).await;
    }
}
