use axum::extract::{rejection::JsonRejection, Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use dancu_domain::Violation;
use dancu_store::officer_admin::OfficerChange;
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
    let epoch = s
        .revocation
        .current(&s.accounts, officer.id)
        .await?
        .map(|o| o.epoch)
        .ok_or_else(crate::auth::bad_credentials)?;
    Ok(Json(TokenResponse {
        access_token: s.keys.issue(&officer, epoch, s.config.token_ttl),
        token_type: "Bearer",
        expires_in: s.config.token_ttl.as_secs(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOfficerRequest {
    pub username: String,
    pub display_name: String,
    /// `admin`, `leader`, `officer` or `auditor`
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
            "Vai trò phải là admin, leader, officer hoặc auditor",
            "role must be admin, leader, officer or auditor",
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
    let hash = s.hasher.run(move || hash_password(&pw)).await?;
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
    let officers = s.registry.list_officers(&p.access("xem danh sách cán bộ")).await?;
    Ok(Json(officers.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficerUpdate {
    /// `false` deactivates the account: its tokens and sessions stop working.
    pub active: Option<bool>,
    /// `admin`, `leader`, `officer` or `auditor`
    pub role: Option<String>,
    /// `nation`, `province:NN` or `commune:NNNNN` (2025 codes)
    pub scope: Option<String>,
}

/// Deactivates, reactivates, re-scopes or changes the role of an officer (administrators
/// only). The officer's web sessions end at once and bearer tokens issued before stop
/// working within seconds on every server.
#[utoipa::path(patch, path = "/api/v1/officers/{id}", params(("id" = i64, Path)), request_body = OfficerUpdate,
    security(("bearer" = [])),
    responses((status = 200, body = OfficerOut), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update_officer(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    body: Result<Json<OfficerUpdate>, JsonRejection>,
) -> ApiResult<Json<OfficerOut>> {
    p.require_admin()?;
    let Json(req) = body?;
    let mut errs = Vec::new();
    let role = match req.role.as_deref() {
        None => None,
        Some(r) => Role::parse(r).or_else(|| {
            errs.push(Violation::new(
                "role",
                "officer.role",
                "Vai trò phải là admin, leader, officer hoặc auditor",
                "role must be admin, leader, officer or auditor",
            ));
            None
        }),
    };
    let scope = req.scope.as_deref().and_then(|sc| sc.parse::<Scope>().map_err(|v| errs.push(v)).ok());
    if !errs.is_empty() {
        return Err(ApiError::invalid(errs));
    }
    let change = OfficerChange { active: req.active, role, scope };
    let o = s.registry.update_officer(&p.access("thay đổi tài khoản cán bộ"), id, &change).await?;
    s.revocation.current(&s.accounts, id).await?;
    tracing::info!(officer = %o.username, by = %p.username, "officer account changed");
    Ok(Json(o.into()))
}
