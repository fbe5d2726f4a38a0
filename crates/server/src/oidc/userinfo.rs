//! `GET`/`POST /oauth/userinfo`: the claims of the citizen who logged in, by the scopes the
//! access token carries: `sub` (pairwise) always; `profile` (name and sex), `birthdate`,
//! `address` (residence), `personal_id` (the personal ID, only under its own scope). The
//! token is checked (signature, expiry, issuer, audience), its login's token family must not
//! be revoked, its client must be active; the record is read through the registry's audited
//! path under `rp:<client_id>`, so the citizen sees the read with the portal's name.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::errors::OAuthErrorBody;
use super::token::{userinfo_audience, AccessClaims};
use crate::AppState;

/// The claims released (each present only under its scope).
#[derive(serde::Serialize, ToSchema)]
pub struct UserInfo {
    /// Pairwise subject identifier (differs per client sector).
    pub sub: String,
    /// `profile`: full name.
    pub name: Option<String>,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub given_name: Option<String>,
    /// `profile`: `male` or `female`.
    pub gender: Option<String>,
    /// `birthdate`: `YYYY-MM-DD` (or `YYYY` when only the year is known).
    pub birthdate: Option<String>,
    /// `address`: `{formatted, country}`.
    pub address: Option<ClaimedAddress>,
    /// `personal_id`: the 12-digit personal ID.
    pub personal_id: Option<String>,
}

/// A residence.
#[derive(serde::Serialize, ToSchema)]
pub struct ClaimedAddress {
    pub formatted: String,
    /// `VN`.
    pub country: String,
}

fn refuse(state: &AppState, error: &'static str, status: StatusCode, description: &str) -> Response {
    state.oidc.refusals.record("userinfo", error, None, description);
    let mut r =
        (status, Json(OAuthErrorBody { error, error_description: description.into() })).into_response();
    let challenge = format!("Bearer realm=\"dancu\", error=\"{error}\"");
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&challenge).expect("ascii"));
    r
}

/// What the scopes release, in words (the audit entry's purpose, which the citizen reads).
fn shared(scopes: &[&str]) -> String {
    let words: Vec<&str> = scopes
        .iter()
        .filter(|s| !matches!(**s, "openid" | "offline_access"))
        .map(|s| crate::web::display::oauth_scope(crate::web::Lang::Vi, s))
        .collect();
    if words.is_empty() {
        "mã định danh riêng cho ứng dụng".into()
    } else {
        words.join("; ")
    }
}

/// The claims of the logged-in citizen.
#[utoipa::path(
    get,
    path = "/oauth/userinfo",
    tag = "oauth",
    operation_id = "oidc_userinfo",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Claims by scope", body = UserInfo),
        (status = 401, description = "invalid_token (WWW-Authenticate: Bearer)", body = OAuthErrorBody),
        (status = 403, description = "insufficient_scope", body = OAuthErrorBody),
    )
)]
pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    claims(&state, &headers).await
}

/// The claims of the logged-in citizen (POST, as OpenID Connect allows).
#[utoipa::path(
    post,
    path = "/oauth/userinfo",
    tag = "oauth",
    operation_id = "oidc_userinfo_post",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Claims by scope", body = UserInfo),
        (status = 401, description = "invalid_token (WWW-Authenticate: Bearer)", body = OAuthErrorBody),
        (status = 403, description = "insufficient_scope", body = OAuthErrorBody),
    )
)]
pub async fn userinfo_post(State(state): State<AppState>, headers: HeaderMap) -> Response {
    claims(&state, &headers).await
}

async fn claims(state: &AppState, headers: &HeaderMap) -> Response {
    let state = state.clone();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let Some(token) = token else {
        return refuse(
            &state,
            "invalid_token",
            StatusCode::UNAUTHORIZED,
            "a bearer access token is required",
        );
    };
    let cfg = &state.config.oidc;
    let Some(claims) =
        cfg.keys.verify::<AccessClaims>(token, &cfg.issuer, Some(&userinfo_audience(&cfg.issuer)))
    else {
        return refuse(
            &state,
            "invalid_token",
            StatusCode::UNAUTHORIZED,
            "the access token is invalid or expired",
        );
    };
    let scopes: Vec<&str> = claims.scope.split(' ').collect();
    if !scopes.contains(&"openid") {
        return refuse(&state, "insufficient_scope", StatusCode::FORBIDDEN, "the openid scope is required");
    }
    let family = match state.db.oidc().family(&claims.fam).await {
        Ok(f) => f,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let Some(family) = family.filter(|f| f.client_id == claims.client_id) else {
        return refuse(
            &state,
            "invalid_token",
            StatusCode::UNAUTHORIZED,
            "the access token's login is unknown",
        );
    };
    let client = match state.oidc.clients.get(&state.db.oidc(), &claims.client_id).await {
        Ok(c) => c.filter(|c| c.row.active),
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    // A revoked login or a suspended client: the refused read is recorded under the citizen.
    let Some(client) = client.filter(|_| family.revoked_at.is_none()) else {
        let why = if family.revoked_at.is_some() {
            "the login's tokens were revoked"
        } else {
            "the client is suspended"
        };
        let purpose = format!("đăng nhập qua ứng dụng liên kết (bị từ chối); chia sẻ: {}", shared(&scopes));
        if let Err(e) =
            state.registry.rp_userinfo_refused(&claims.client_id, &family.personal_id, &purpose).await
        {
            return crate::error::ApiError::from(e).into_response();
        }
        return refuse(&state, "invalid_token", StatusCode::UNAUTHORIZED, why);
    };
    let purpose = format!("đăng nhập qua {}; chia sẻ: {}", client.row.name, shared(&scopes));
    let record = match state.registry.rp_userinfo(&claims.client_id, &family.personal_id, &purpose).await {
        Ok(r) => r,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let c = &record.citizen;
    let mut out = Map::new();
    out.insert("sub".into(), json!(claims.sub));
    if scopes.contains(&"profile") {
        let n = &c.name;
        out.insert("name".into(), json!(n.full()));
        out.insert("family_name".into(), json!(n.family));
        if !n.middle.is_empty() {
            out.insert("middle_name".into(), json!(n.middle));
        }
        out.insert("given_name".into(), json!(n.given));
        let gender = match c.sex {
            dancu_domain::Sex::Male => "male",
            dancu_domain::Sex::Female => "female",
        };
        out.insert("gender".into(), json!(gender));
    }
    if scopes.contains(&"birthdate") {
        out.insert("birthdate".into(), json!(c.birth_date.to_string()));
    }
    if scopes.contains(&"address") {
        if let Some(a) = c.current.as_ref().or(c.temporary.as_ref()).or(c.permanent.as_ref()) {
            let unit = a.unit.describe().to_string();
            let formatted = [a.detail.trim(), unit.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            out.insert("address".into(), json!({"formatted": formatted, "country": "VN"}));
        }
    }
    if scopes.contains(&"personal_id") {
        out.insert("personal_id".into(), json!(c.personal_id.as_str()));
    }
    Json(Value::Object(out)).into_response()
}
