//! `POST /oauth/token`: the token endpoint. Client credentials for partners (a signed JWT
//! access token for the partner API, no database read on the hot path: the client comes
//! from the in-memory cache, its secret is compared by SHA-256). Every answer carries
//! `Cache-Control: no-store`; every refusal is an OAuth error, logged and counted.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::clients::{self, Client, Credentials};
use super::errors::OAuthError;
use crate::AppState;

/// A token request (`application/x-www-form-urlencoded`).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TokenForm {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    /// Space-separated scopes (client credentials: a subset of the client's; default all).
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

/// A successful token answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds.
    pub expires_in: u64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// The claims of a partner's access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct PartnerClaims {
    pub iss: String,
    pub sub: String,
    pub client_id: String,
    pub aud: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Issues tokens.
#[utoipa::path(
    post,
    path = "/oauth/token",
    tag = "oauth",
    operation_id = "oauth_token",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope", body = super::errors::OAuthErrorBody),
        (status = 401, description = "invalid_client", body = super::errors::OAuthErrorBody),
    )
)]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let answer = match form {
        Ok(Form(f)) => issue(&state, &headers, f).await,
        Err(e) => {
            Err((None, OAuthError::invalid_request(format!("the body must be a form: {}", e.body_text()))))
        }
    };
    match answer {
        Ok(t) => {
            let mut r = Json(t).into_response();
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            r
        }
        Err((client, e)) => {
            state.oidc.refusals.record("token", e.error, client.as_deref(), &e.description);
            e.into_response()
        }
    }
}

type Refusal = (Option<String>, OAuthError);

async fn issue(state: &AppState, headers: &HeaderMap, f: TokenForm) -> Result<TokenResponse, Refusal> {
    let creds = Credentials {
        client_id: f.client_id.clone(),
        client_secret: f.client_secret.clone(),
        client_assertion_type: f.client_assertion_type.clone(),
        client_assertion: f.client_assertion.clone(),
    };
    let grant = f
        .grant_type
        .as_deref()
        .ok_or_else(|| (f.client_id.clone(), OAuthError::invalid_request("grant_type is required")))?;
    let client = clients::authenticate(state, headers, &creds).await.map_err(|e| (f.client_id.clone(), e))?;
    let id = Some(client.row.client_id.clone());
    match grant {
        "client_credentials" => client_credentials(state, &client, &f).map_err(|e| (id, e)),
        "authorization_code" | "refresh_token" => Err((id, OAuthError::unsupported_grant_type())),
        _ => Err((id, OAuthError::unsupported_grant_type())),
    }
}

fn client_credentials(state: &AppState, client: &Client, f: &TokenForm) -> Result<TokenResponse, OAuthError> {
    if !client.allows_grant("client_credentials") || client.is_public() {
        return Err(OAuthError::unauthorized_client("this client is not registered for client_credentials"));
    }
    let allowed: Vec<&str> = client.row.scopes.iter().map(String::as_str).collect();
    let scope = match f.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => allowed.join(" "),
        Some(s) => {
            let asked: Vec<&str> = s.split(' ').filter(|w| !w.is_empty()).collect();
            if let Some(bad) = asked.iter().find(|w| !allowed.contains(w)) {
                return Err(OAuthError::invalid_scope(format!("scope {bad} is not granted to this client")));
            }
            let mut uniq: Vec<&str> = Vec::new();
            for a in asked {
                if !uniq.contains(&a) {
                    uniq.push(a);
                }
            }
            uniq.join(" ")
        }
    };
    let cfg = &state.config.oidc;
    let ttl = cfg.partner_token_ttl.min(super::MAX_PARTNER_TOKEN_TTL).as_secs();
    let now = chrono::Utc::now().timestamp();
    let claims = PartnerClaims {
        iss: cfg.issuer.clone(),
        sub: client.row.client_id.clone(),
        client_id: client.row.client_id.clone(),
        aud: cfg.partner_audience(),
        scope: scope.clone(),
        iat: now,
        exp: now + ttl as i64,
        jti: crate::auth::random_token(),
    };
    Ok(TokenResponse {
        access_token: cfg.keys.sign("at+jwt", &claims),
        token_type: "Bearer".into(),
        expires_in: ttl,
        scope,
        id_token: None,
        refresh_token: None,
    })
}
