//! `POST /oauth/token`: the token endpoint. Client credentials for partners (a signed JWT
//! access token for the partner API, no database read on the hot path: the client comes
//! from the in-memory cache, its secret is compared by SHA-256). The authorization code
//! (PKCE S256 checked, the code spent once: a second use revokes every token issued from
//! it) and refresh tokens (rotated at each use: an old one presented again revokes the
//! family) for relying parties, which get an ES256 ID token and access token. Every answer
//! carries `Cache-Control: no-store`; every refusal is an OAuth error, logged and counted.

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
pub struct OAuthTokenRequest {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    #[schema(pattern = "^(authorization_code|refresh_token|client_credentials)$")]
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    /// Space-separated scopes (client credentials: a subset of the client's; default all).
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` (with `private_key_jwt`).
    #[schema(pattern = "^urn:ietf:params:oauth:client-assertion-type:jwt-bearer$")]
    pub client_assertion_type: Option<String>,
    /// A JWT signed with a key of the client's registered JWK Set.
    pub client_assertion: Option<String>,
}

/// A successful token answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OAuthTokenResponse {
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    request_body(content = OAuthTokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens", body = OAuthTokenResponse),
        (status = 400, description = "invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope", body = super::errors::OAuthErrorBody),
        (status = 401, description = "invalid_client", body = super::errors::OAuthErrorBody),
    )
)]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<OAuthTokenRequest>, FormRejection>,
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

async fn issue(
    state: &AppState,
    headers: &HeaderMap,
    f: OAuthTokenRequest,
) -> Result<OAuthTokenResponse, Refusal> {
    let creds = Credentials {
        client_id: f.client_id.clone(),
        client_secret: f.client_secret.clone(),
        client_assertion_type: f.client_assertion_type.clone(),
        client_assertion: f.client_assertion.clone(),
    };
    // The client first: a request from no known client learns nothing more (401).
    let client = clients::authenticate(state, headers, &creds).await.map_err(|e| (f.client_id.clone(), e))?;
    let id = Some(client.row.client_id.clone());
    let grant = f
        .grant_type
        .as_deref()
        .ok_or_else(|| (id.clone(), OAuthError::invalid_request("grant_type is required")))?;
    match grant {
        "client_credentials" => client_credentials(state, &client, &f).map_err(|e| (id, e)),
        "authorization_code" => code_grant(state, &client, &f).await.map_err(|e| (id, e)),
        "refresh_token" => refresh_grant(state, &client, &f).await.map_err(|e| (id, e)),
        _ => Err((id, OAuthError::unsupported_grant_type())),
    }
}

fn client_credentials(
    state: &AppState,
    client: &Client,
    f: &OAuthTokenRequest,
) -> Result<OAuthTokenResponse, OAuthError> {
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
    Ok(OAuthTokenResponse {
        access_token: cfg.keys.sign("at+jwt", &claims),
        token_type: "Bearer".into(),
        expires_in: ttl,
        scope,
        id_token: None,
        refresh_token: None,
    })
}

/// The claims of a relying party's access token (for `/oauth/userinfo`). `fam` names the
/// login's token family (checked for revocation at each use); the personal ID is not in it.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub acr: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub fam: String,
}

/// The ID token's claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub iat: i64,
    pub exp: i64,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub at_hash: String,
}

/// The audience of relying parties' access tokens.
pub fn userinfo_audience(issuer: &str) -> String {
    format!("{issuer}/oauth/userinfo")
}

fn b64url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// `BASE64URL(SHA-256(verifier)) == challenge` (RFC 7636 S256), in constant time.
pub fn pkce_ok(verifier: &str, challenge: &str) -> bool {
    use sha2::Digest;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed
        && crate::auth::constant_time_eq(
            b64url(&sha2::Sha256::digest(verifier.as_bytes())).as_bytes(),
            challenge.as_bytes(),
        )
}

/// What the tokens of a login are made from.
struct Grant<'a> {
    client: &'a Client,
    personal_id: dancu_domain::PersonalId,
    scope: String,
    acr: String,
    auth_time: i64,
    nonce: Option<String>,
    family_id: String,
}

fn rp_tokens(state: &AppState, g: &Grant<'_>, refresh_token: Option<String>) -> OAuthTokenResponse {
    let cfg = &state.config.oidc;
    let ttl = cfg.access_token_ttl.as_secs();
    let now = chrono::Utc::now().timestamp();
    let sub = super::pairwise::subject(cfg.keys.pairwise_secret(), &g.client.row.sector, &g.personal_id);
    let access = AccessClaims {
        iss: cfg.issuer.clone(),
        sub: sub.clone(),
        aud: userinfo_audience(&cfg.issuer),
        client_id: g.client.row.client_id.clone(),
        scope: g.scope.clone(),
        acr: g.acr.clone(),
        iat: now,
        exp: now + ttl as i64,
        jti: crate::auth::random_token(),
        fam: g.family_id.clone(),
    };
    let access_token = cfg.keys.sign("at+jwt", &access);
    let digest = <sha2::Sha256 as sha2::Digest>::digest(access_token.as_bytes());
    let id = IdClaims {
        iss: cfg.issuer.clone(),
        sub,
        aud: g.client.row.client_id.clone(),
        azp: g.client.row.client_id.clone(),
        iat: now,
        exp: now + ttl as i64,
        auth_time: g.auth_time,
        acr: g.acr.clone(),
        amr: if g.acr == "loa:2" {
            vec!["pwd".into(), "otp".into(), "mfa".into()]
        } else {
            vec!["pwd".into()]
        },
        nonce: g.nonce.clone(),
        at_hash: b64url(&digest[..16]),
    };
    OAuthTokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ttl,
        scope: g.scope.clone(),
        id_token: Some(cfg.keys.sign("JWT", &id)),
        refresh_token,
    }
}

fn new_refresh(state: &AppState, client: &Client) -> Option<(String, String, dancu_store::Timestamp)> {
    client.allows_grant("refresh_token").then(|| {
        let t = crate::auth::random_token();
        let h = crate::auth::sha256_hex(&t);
        let exp = dancu_store::registry::now()
            + chrono::Duration::from_std(state.config.oidc.refresh_ttl).expect("small");
        (t, h, exp)
    })
}

async fn code_grant(
    state: &AppState,
    client: &Client,
    f: &OAuthTokenRequest,
) -> Result<OAuthTokenResponse, OAuthError> {
    if !client.allows_grant("authorization_code") {
        return Err(OAuthError::unauthorized_client("this client is not registered for authorization_code"));
    }
    let code = f
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let verifier = f
        .code_verifier
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
    let redirect =
        f.redirect_uri.as_deref().ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
    let store = state.db.oidc();
    let now = dancu_store::registry::now();
    let stored = store.code(&crate::auth::sha256_hex(code)).await?;
    let Some(stored) = stored.filter(|c| c.client_id == client.row.client_id) else {
        return Err(OAuthError::invalid_grant(
            "the code is unknown, expired or was issued to another client",
        ));
    };
    if stored.used_at.is_none() {
        if stored.expires_at <= now {
            return Err(OAuthError::invalid_grant("the code expired"));
        }
        if stored.redirect_uri != redirect {
            return Err(OAuthError::invalid_grant("redirect_uri differs from the authorization request's"));
        }
        if !pkce_ok(verifier, &stored.code_challenge) {
            return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge (PKCE)"));
        }
    }
    let refresh = new_refresh(state, client);
    let spend = store
        .spend_code(
            &stored,
            refresh.as_ref().map(|r| r.1.as_str()),
            refresh.as_ref().map_or(now, |r| r.2),
            now,
        )
        .await?;
    match spend {
        dancu_store::oidc::Spend::Done => {}
        dancu_store::oidc::Spend::Reused => {
            return Err(OAuthError::invalid_grant(
                "the code was already used; the tokens issued from it are revoked",
            ))
        }
        dancu_store::oidc::Spend::Invalid => return Err(OAuthError::invalid_grant("the code expired")),
    }
    let g = Grant {
        client,
        personal_id: stored.personal_id,
        scope: stored.scope,
        acr: stored.acr,
        auth_time: stored.auth_time.timestamp(),
        nonce: stored.nonce,
        family_id: stored.family_id,
    };
    Ok(rp_tokens(state, &g, refresh.map(|r| r.0)))
}

async fn refresh_grant(
    state: &AppState,
    client: &Client,
    f: &OAuthTokenRequest,
) -> Result<OAuthTokenResponse, OAuthError> {
    if !client.allows_grant("refresh_token") {
        return Err(OAuthError::unauthorized_client("this client is not registered for refresh_token"));
    }
    let token = f
        .refresh_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let store = state.db.oidc();
    let now = dancu_store::registry::now();
    let Some(old) = store
        .refresh_token(&crate::auth::sha256_hex(token))
        .await?
        .filter(|t| t.family.client_id == client.row.client_id)
    else {
        return Err(OAuthError::invalid_grant(
            "the refresh token is unknown or was issued to another client",
        ));
    };
    let granted: Vec<&str> = old.family.scope.split(' ').collect();
    let scope = match f.scope.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => old.family.scope.clone(),
        Some(s) => {
            let mut asked: Vec<&str> = s.split(' ').filter(|w| !w.is_empty()).collect();
            if let Some(bad) = asked.iter().find(|w| !granted.contains(w)) {
                return Err(OAuthError::invalid_scope(format!("scope {bad} was not granted at login")));
            }
            asked.sort();
            asked.dedup();
            asked.join(" ")
        }
    };
    let (t, h, exp) = new_refresh(state, client).expect("the client may refresh");
    match store.rotate_refresh(&old, &h, exp, now).await? {
        dancu_store::oidc::Spend::Done => {}
        dancu_store::oidc::Spend::Reused => {
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used; the login's tokens are revoked",
            ))
        }
        dancu_store::oidc::Spend::Invalid => {
            return Err(OAuthError::invalid_grant("the refresh token expired or was revoked"))
        }
    }
    let g = Grant {
        client,
        personal_id: old.family.personal_id,
        scope,
        acr: old.family.acr.clone(),
        auth_time: old.family.auth_time.timestamp(),
        nonce: None,
        family_id: old.family.family_id.clone(),
    };
    Ok(rp_tokens(state, &g, Some(t)))
}
