use axum::extract::{rejection::JsonRejection, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use dancu_domain::Violation;
use dancu_store::{NewOfficer, Officer, Role, Scope};

use crate::auth::{authenticate, hash_password, Principal};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

/// Exchanges an officer's username and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/token", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn token(
    State(s): State<AppState>,
    body: Result<Json<TokenRequest>, JsonRejection>,
) -> ApiResult<Json<TokenResponse>> {
    let Json(req) = body?;
    let officer = authenticate(&s, &req.username, &req.password).await?;
    Ok(Json(TokenResponse {
        access_token: s.keys.issue(&officer, s.config.token_ttl),
        token_type: "Bearer",
        expires_in: s.config.token_ttl.as_secs(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOfficerRequest {
    pub username: String,
    pub display_name: String,
    /// `admin` or `officer`
    pub role: String,
    /// `nation`, `province:NN` or `commune:NNNNN` (2025 codes)
    pub scope: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct OfficerOut {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub scope: String,
    pub active: bool,
}

impl From<Officer> for OfficerOut {
    fn from(o: Officer) -> Self {
        OfficerOut {
            id: o.id,
            username: o.username,
            display_name: o.display_name,
            role: o.role.code().into(),
            scope: o.scope.to_string(),
            active: o.active,
        }
    }
}

/// Validates a new officer account (shared by the API and the CLI's demo setup).
pub fn validate_officer(r: &NewOfficerRequest) -> Result<(Role, Scope), Vec<Violation>> {
    let mut errs = Vec::new();
    if r.username.len() < 3
        || r.username.len() > 64
        || !r.username.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        errs.push(Violation::new(
            "username",
            "officer.username_format",
            "Tên đăng nhập 3–64 ký tự: chữ, số, . _ -",
            "username: 3–64 characters of letters, digits, . _ -",
        ));
    }
    if r.password.chars().count() < 12 {
        errs.push(Violation::new(
            "password",
            "officer.password_length",
            "Mật khẩu tối thiểu 12 ký tự",
            "password must be at least 12 characters",
        ));
    }
    let role = Role::parse(&r.role);
    if role.is_none() {
        errs.push(Violation::new(
            "role",
            "officer.role",
            "Vai trò phải là admin hoặc officer",
            "role must be admin or officer",
        ));
    }
    let scope = r.scope.parse::<Scope>().map_err(|v| errs.push(v)).ok();
    if errs.is_empty() {
        Ok((role.unwrap(), scope.unwrap()))
    } else {
        Err(errs)
    }
}

/// Creates an officer account (administrators only).
#[utoipa::path(post, path = "/api/v1/officers", request_body = NewOfficerRequest, security(("bearer" = [])),
    responses((status = 201, body = OfficerOut), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_officer(
    State(s): State<AppState>,
    p: Principal,
    body: Result<Json<NewOfficerRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<OfficerOut>)> {
    // Checked again by the registry; here it spares a password hash for a refused request.
    p.require_admin()?;
    let Json(req) = body?;
    let (role, scope) = validate_officer(&req).map_err(ApiError::invalid)?;
    let pw = req.password.clone();
    let hash =
        tokio::task::spawn_blocking(move || hash_password(&pw)).await.map_err(|_| ApiError::internal())?;
    let new = NewOfficer {
        username: req.username,
        display_name: dancu_domain::nfc(&req.display_name),
        role,
        scope,
        password_hash: hash,
    };
    // The registry checks the role and that the scope lies within the creator's.
    let o = s.registry.create_officer(&p.access("tạo tài khoản cán bộ"), &new).await?;
    Ok((StatusCode::CREATED, Json(o.into())))
}

/// Lists officer accounts (administrators only).
#[utoipa::path(get, path = "/api/v1/officers", security(("bearer" = [])), responses((status = 200, body = Vec<OfficerOut>)))]
pub async fn list_officers(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Vec<OfficerOut>>> {
    p.require_admin()?;
    Ok(Json(s.registry.store().list_officers().await?.into_iter().map(Into::into).collect()))
}
