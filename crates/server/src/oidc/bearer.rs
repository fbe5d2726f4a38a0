//! The partner API's authentication: [`ClientToken`], an extractor that verifies a
//! client-credentials access token (ES256 signature by `kid` against the in-memory keys,
//! `exp`, `iss`, `aud` = `<issuer>/api/v1/partner`) and that its client is still active in
//! the client cache (a disabled client is refused at once after the next reload). Refusals
//! answer 401 with `WWW-Authenticate: Bearer error="invalid_token"` and an [`ApiError`]
//! body (`invalid_token`), and are counted.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::token::PartnerClaims;
use crate::error::ApiError;
use crate::AppState;

/// A verified partner token.
#[derive(Debug, Clone)]
pub struct ClientToken {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub jti: String,
}

impl ClientToken {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// A refused bearer token: 401 with the `WWW-Authenticate` challenge.
#[derive(Debug)]
pub struct BearerError {
    pub error: ApiError,
    /// Whether a token was sent (then `error="invalid_token"`).
    pub token_sent: bool,
}

impl BearerError {
    fn invalid() -> Self {
        BearerError {
            error: ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Mã truy cập không hợp lệ, đã hết hạn hoặc ứng dụng đã bị đình chỉ",
                "the access token is invalid, expired, for another audience, or its client is suspended",
            ),
            token_sent: true,
        }
    }
    fn missing() -> Self {
        BearerError { error: ApiError::unauthorized(), token_sent: false }
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let mut r = self.error.into_response();
        let challenge = if self.token_sent {
            "Bearer realm=\"dancu\", error=\"invalid_token\""
        } else {
            "Bearer realm=\"dancu\""
        };
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        r
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// Partner tokens whose signature, issuer and audience were verified, by SHA-256 of the
/// token, until they expire: a partner sends the same token for minutes, and an ES256
/// verification costs about as much as the rest of a verification request. Expiry and the
/// client's state are still checked on every request; the map is bounded (when full,
/// expired entries go, and if none had expired, all of them).
#[derive(Default)]
pub struct VerifiedTokens(std::sync::Mutex<std::collections::HashMap<[u8; 32], PartnerClaims>>);

/// Most tokens remembered at once.
const VERIFIED_CAPACITY: usize = 10_000;

impl VerifiedTokens {
    fn get(&self, key: &[u8; 32], now: i64) -> Option<PartnerClaims> {
        let map = self.0.lock().expect("verified tokens lock");
        map.get(key).filter(|c| c.exp > now).cloned()
    }

    fn insert(&self, key: [u8; 32], claims: PartnerClaims, now: i64) {
        let mut map = self.0.lock().expect("verified tokens lock");
        if map.len() >= VERIFIED_CAPACITY {
            map.retain(|_, c| c.exp > now);
            if map.len() >= VERIFIED_CAPACITY {
                map.clear();
            }
        }
        map.insert(key, claims);
    }
}

/// Verifies a partner token against the keys and the client cache.
pub async fn verify(state: &AppState, token: &str) -> Result<ClientToken, BearerError> {
    use sha2::Digest;
    let cfg = &state.config.oidc;
    let now = chrono::Utc::now().timestamp();
    let key: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
    let claims = match state.oidc.verified.get(&key, now) {
        Some(c) => c,
        None => {
            let claims: PartnerClaims = cfg
                .keys
                .verify(token, &cfg.issuer, Some(&cfg.partner_audience()))
                .ok_or_else(BearerError::invalid)?;
            if claims.client_id != claims.sub {
                return Err(BearerError::invalid());
            }
            state.oidc.verified.insert(key, claims.clone(), now);
            claims
        }
    };
    let client = state
        .oidc
        .clients
        .get(&state.db.oidc(), &claims.client_id)
        .await
        .map_err(|e| BearerError { error: e.into(), token_sent: true })?;
    match client {
        Some(c) if c.row.active && c.allows_grant("client_credentials") => Ok(ClientToken {
            client_id: claims.client_id,
            scopes: claims.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            jti: claims.jti,
        }),
        _ => Err(BearerError::invalid()),
    }
}

impl FromRequestParts<AppState> for ClientToken {
    type Rejection = BearerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, BearerError> {
        if let Some(t) = parts.extensions.get::<ClientToken>() {
            return Ok(t.clone());
        }
        let Some(token) = bearer_token(parts) else {
            state.oidc.refusals.record("bearer", "missing_token", None, "no bearer token");
            return Err(BearerError::missing());
        };
        match verify(state, token).await {
            Ok(t) => {
                parts.extensions.insert(t.clone());
                Ok(t)
            }
            Err(e) => {
                state.oidc.refusals.record("bearer", "invalid_token", None, "token refused");
                Err(e)
            }
        }
    }
}

/// A client's name, for display (from the cache; `None` if unknown to it).
pub fn client_name(state: &AppState, client_id: &str) -> Option<String> {
    state.oidc.clients.cached(client_id).map(|c| c.row.name.clone())
}
