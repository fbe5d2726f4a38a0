use axum::extract::{rejection::JsonRejection, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use dancu_domain::Violation;
use dancu_store::officer_admin::OfficerChange;
use dancu_store::{NewOfficer, Officer, Role, Scope};

use super::ApiPath;
use crate::auth::{authenticate, hash_password, Principal, MAX_PASSWORD_BYTES};
use crate::error::{self, ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[schema(pattern = "^[A-Za-z0-9._-]{3,64}$")]
    pub username: String,
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send it as `Authorization: Bearer <token>`.
    pub access_token: String,
    #[schema(pattern = "^Bearer$")]
    pub token_type: &'static str,
    /// Seconds the token is valid for.
    pub expires_in: u64,
}

/// Exchanges an officer's username and password for a bearer token. After 5 failures a
/// username is locked with doubling back-off (429).
#[utoipa::path(post, path = "/api/v1/auth/token", operation_id = "issue_token", request_body = TokenRequest, tag = "officers",
    responses((status = 200, body = TokenResponse),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 413, response = error::PayloadTooLarge), (status = 415, response = error::UnsupportedMediaType),
        (status = 422, response = error::Unprocessable), (status = 429, response = error::TooManyRequests)))]
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
    #[schema(pattern = "^[A-Za-z0-9._-]{3,64}$")]
    pub username: String,
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 200)]
    pub display_name: String,
    /// `admin`, `leader`, `officer`, `auditor` or `agency`
    #[schema(value_type = Role)]
    pub role: String,
    /// `nation`, `province:NN` or `commune:NNNNN` (2025 codes, within the caller's scope)
    #[schema(pattern = "^(?:nation|province:[0-9]{2}|commune:[0-9]{5})$")]
    pub scope: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct OfficerOut {
    pub id: i64,
    #[schema(pattern = "^[A-Za-z0-9._-]{3,64}$")]
    pub username: String,
    pub display_name: String,
    #[schema(value_type = Role)]
    pub role: String,
    #[schema(pattern = "^(?:nation|province:[0-9]{2}|commune:[0-9]{5})$")]
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

/// The one rule for an officer's password, on creation and on every reset (API, page, CLI):
/// at least 12 characters, and at most what the hasher accepts.
pub fn officer_password_rule(password: &str) -> Option<Violation> {
    (password.chars().count() < 12 || password.len() > MAX_PASSWORD_BYTES).then(|| {
        Violation::new(
            "password",
            "officer.password_length",
            "Mật khẩu từ 12 ký tự, tối đa 1024 byte",
            "password must be at least 12 characters and at most 1024 bytes",
        )
    })
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
    errs.extend(officer_password_rule(&r.password));
    let role = Role::parse(&r.role);
    if role.is_none() {
        errs.push(Violation::new(
            "role",
            "officer.role",
            "Vai trò phải là admin, leader, officer, auditor hoặc agency",
            "role must be admin, leader, officer, auditor or agency",
        ));
    }
    let scope = r.scope.parse::<Scope>().map_err(|v| errs.push(v)).ok();
    if errs.is_empty() {
        Ok((role.unwrap(), scope.unwrap()))
    } else {
        Err(errs)
    }
}

/// Creates an officer account (administrators only), with a scope inside the caller's.
#[utoipa::path(post, path = "/api/v1/officers", operation_id = "create_officer", request_body = NewOfficerRequest, security(("bearer" = [])), tag = "officers",
    responses((status = 201, body = OfficerOut, links(("UpdateOfficer" = (operation_id = "update_officer", parameters(("id" = "$response.body#/id")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 409, response = error::Conflict),
        (status = 413, response = error::PayloadTooLarge), (status = 415, response = error::UnsupportedMediaType),
        (status = 422, response = error::Unprocessable), (status = 429, response = error::TooManyRequests),
        (status = 503, response = error::Unavailable)))]
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

/// Lists the officer accounts in the caller's scope (administrators only).
#[utoipa::path(get, path = "/api/v1/officers", operation_id = "list_officers", security(("bearer" = [])), tag = "officers",
    responses((status = 200, body = Vec<OfficerOut>, links(("UpdateOfficer" = (operation_id = "update_officer", parameters(("id" = "$response.body#/1/id")))))),
        (status = 401, response = error::Unauthorized), (status = 403, response = error::Forbidden),
        (status = 503, response = error::Unavailable)))]
pub async fn list_officers(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Vec<OfficerOut>>> {
    let officers = s.registry.list_officers(&p.access("xem danh sách cán bộ")).await?;
    Ok(Json(officers.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficerUpdate {
    /// `false` deactivates the account: its tokens and sessions stop working.
    pub active: Option<bool>,
    /// `admin`, `leader`, `officer`, `auditor` or `agency`
    #[schema(value_type = Option<Role>)]
    pub role: Option<String>,
    /// `nation`, `province:NN` or `commune:NNNNN` (2025 codes, within the caller's scope)
    #[schema(pattern = "^(?:nation|province:[0-9]{2}|commune:[0-9]{5})$")]
    pub scope: Option<String>,
}

/// Deactivates, reactivates, re-scopes or changes the role of an officer (administrators
/// only, not their own account: another administrator must). The officer's web sessions
/// end at once and bearer tokens issued before stop working within seconds on every server.
#[utoipa::path(patch, path = "/api/v1/officers/{id}", operation_id = "update_officer", params(("id" = i64, Path, description = "Officer account id")),
    request_body = OfficerUpdate, security(("bearer" = [])), tag = "officers",
    responses((status = 200, body = OfficerOut),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 404, response = error::NotFound),
        (status = 413, response = error::PayloadTooLarge), (status = 415, response = error::UnsupportedMediaType),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn update_officer(
    State(s): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    body: Result<Json<OfficerUpdate>, JsonRejection>,
) -> ApiResult<Json<OfficerOut>> {
    p.require_admin()?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    if id == p.officer_id {
        // An administrator who deactivates, demotes or narrows their own account could lock
        // every administrator out; another administrator makes such changes.
        return Err(ApiError {
            violations: vec![Violation::new(
                "id",
                "officer.self_change",
                "Không thể tự thay đổi tài khoản của mình; cần một quản trị viên khác",
                "you cannot change your own account; another administrator must",
            )],
            ..ApiError::forbidden()
        });
    }
    let Json(req) = body?;
    let mut errs = Vec::new();
    let role = match req.role.as_deref() {
        None => None,
        Some(r) => Role::parse(r).or_else(|| {
            errs.push(Violation::new(
                "role",
                "officer.role",
                "Vai trò phải là admin, leader, officer, auditor hoặc agency",
                "role must be admin, leader, officer, auditor or agency",
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
