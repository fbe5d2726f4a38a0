//! Electronic identity accounts (`/api/v1/eid`) and old-CMND confirmations: public level-1
//! registration; for officers in scope, the account list and counts, one account, approval,
//! lock / unlock, the in-person level-2 upgrade, password-reset codes and integrated
//! documents. Refusals answer 422 with the rule; out-of-scope accounts answer 404.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use dancu_domain::Violation;
use dancu_identity::eid::{AccountEvent, Actor, DocumentKind, Level, VerificationState};
use dancu_identity::totp;
use dancu_store::eid::{CmndConfirmation, EidAccount, EidCount, EidDocument, EidListItem};
use dancu_store::registry::{now, EidView};
use dancu_store::Page;

use super::citizens::{page_limit, parse_id, require_reason};
use super::purpose;
use crate::auth::Principal;
use crate::citizen_auth::{new_reset_code, parse_claim, register_citizen, ClaimInput, RESET_CODE_HOURS};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    pub personal_id: String,
    pub full_name: String,
    /// `YYYY-MM-DD`, `DD/MM/YYYY`, or the partial forms the registry keeps.
    pub birth_date: String,
    /// `Nam` / `Nữ` (or `M` / `F`).
    pub sex: String,
    pub phone: String,
    pub portrait_captured: bool,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct RegistrationResponse {
    pub personal_id: String,
    pub state: String,
    /// Base32 TOTP secret for the authenticator app; shown only in this response.
    pub totp_secret: String,
    pub otpauth_uri: String,
}

/// Level-1 self-registration (public). Name, date of birth and sex must match the
/// registry; an unknown personal ID is refused like a wrong name.
#[utoipa::path(post, path = "/api/v1/eid/registrations", request_body = RegistrationRequest,
    responses((status = 201, body = RegistrationResponse), (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn register(
    State(s): State<AppState>,
    body: Result<Json<RegistrationRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<RegistrationResponse>)> {
    let Json(b) = body?;
    let claim = parse_claim(&ClaimInput {
        personal_id: &b.personal_id,
        full_name: &b.full_name,
        birth_date: &b.birth_date,
        sex: &b.sex,
        phone: &b.phone,
        portrait_captured: b.portrait_captured,
        password: &b.password,
        password2: None,
    })?;
    let (account, secret) = register_citizen(&s, &claim, &b.password).await?;
    let raw = totp::secret_from_base32(&secret).unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(RegistrationResponse {
            personal_id: account.personal_id.to_string(),
            state: account.state.code().into(),
            otpauth_uri: totp::provisioning_uri(&raw, account.personal_id.as_str(), "dancu"),
            totp_secret: secret,
        }),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountListParams {
    /// `registered`, `approved`, `activated` or `locked`; all when absent.
    pub state: Option<String>,
    /// 1 or 2; both when absent.
    pub level: Option<u8>,
    /// 1–100, default 20.
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub purpose: Option<String>,
}

fn level_param(l: Option<u8>) -> Result<Option<Level>, ApiError> {
    match l {
        None => Ok(None),
        Some(1) => Ok(Some(Level::One)),
        Some(2) => Ok(Some(Level::Two)),
        Some(_) => {
            Err(Violation::new("level", "eid.level", "Mức phải là 1 hoặc 2", "level must be 1 or 2").into())
        }
    }
}

/// Accounts in the caller's scope (the approval and upgrade queues).
#[utoipa::path(get, path = "/api/v1/eid/accounts", params(AccountListParams), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 422, body = crate::error::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    q: Result<Query<AccountListParams>, QueryRejection>,
) -> ApiResult<Json<Page<EidListItem>>> {
    let Query(q) = q?;
    let state = q.state.as_deref().filter(|s| !s.is_empty());
    if let Some(st) = state {
        if !["registered", "approved", "activated", "locked"].contains(&st) {
            return Err(
                Violation::new("state", "eid.state", "Trạng thái không hợp lệ", "unknown state").into()
            );
        }
    }
    let limit = page_limit(q.limit)?;
    let access = p.access(&purpose(&headers, q.purpose.as_deref()));
    let page =
        s.registry.eid_list(&access, state, level_param(q.level)?, limit, q.offset.unwrap_or(0)).await?;
    Ok(Json(page))
}

/// Account counts per level, state and commune in the caller's scope (for reports).
#[utoipa::path(get, path = "/api/v1/eid/stats", security(("bearer" = [])), responses((status = 200, body = Object)))]
pub async fn stats(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<EidCount>>> {
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.eid_counts(&access).await?))
}

/// One account with its history, documents and recent logins.
#[utoipa::path(get, path = "/api/v1/eid/accounts/{id}", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<EidView>> {
    let id = parse_id(&id)?;
    Ok(Json(s.registry.eid_view(&p.access(&purpose(&headers, None)), &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// `approve`, `lock`, `unlock` or `upgrade_level_2`.
    pub event: String,
    /// Required to lock and to unlock.
    #[serde(default)]
    pub reason: String,
    /// For `upgrade_level_2`: face and fingerprints verified in person.
    #[serde(default)]
    pub biometrics_verified: bool,
    /// The account version the officer saw (optimistic check).
    pub expected_version: Option<i64>,
}

/// Approves, locks, unlocks or upgrades an account in the caller's scope.
#[utoipa::path(post, path = "/api/v1/eid/accounts/{id}/events", params(("id" = String, Path)), request_body = EventRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn event(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<EventRequest>, JsonRejection>,
) -> ApiResult<Json<EidAccount>> {
    let Json(b) = body?;
    let id = parse_id(&id)?;
    let access = p.access(&purpose(&headers, None));
    let r = &s.registry;
    let account = match b.event.as_str() {
        "approve" => r.eid_officer_event(&access, &id, &AccountEvent::Approve, b.expected_version).await?,
        "lock" => {
            let ev = AccountEvent::Lock { by: Actor::Officer, reason: require_reason(&b.reason)? };
            r.eid_officer_event(&access, &id, &ev, b.expected_version).await?
        }
        "unlock" => {
            let ev = AccountEvent::Unlock { by: Actor::Officer, reason: require_reason(&b.reason)? };
            r.eid_officer_event(&access, &id, &ev, b.expected_version).await?
        }
        "upgrade_level_2" => {
            let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
            r.eid_upgrade_level2(&access, &id, b.biometrics_verified, today, b.expected_version).await?
        }
        _ => {
            return Err(Violation::new(
                "event",
                "eid.event_unknown",
                "Sự kiện phải là approve, lock, unlock hoặc upgrade_level_2",
                "event must be approve, lock, unlock or upgrade_level_2",
            )
            .into())
        }
    };
    Ok(Json(account))
}

#[derive(Serialize, ToSchema)]
pub struct ResetCode {
    /// Read it to the citizen; shown only here.
    pub code: String,
    pub expires_at: String,
}

/// Issues a one-time password-reset code after the officer has checked the citizen's card
/// in person. The code is valid 24 hours.
#[utoipa::path(post, path = "/api/v1/eid/accounts/{id}/reset-code", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ResetCode), (status = 404, body = crate::error::ErrorBody)))]
pub async fn reset_code(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<ResetCode>> {
    let id = parse_id(&id)?;
    let code = new_reset_code();
    let expires = now() + chrono::Duration::hours(RESET_CODE_HOURS);
    s.registry
        .eid_issue_reset(
            &p.access(&purpose(&headers, None)),
            &id,
            crate::citizen_auth::reset_code_hash(&s, &id, &code),
            expires,
        )
        .await?;
    Ok(Json(ResetCode { code, expires_at: expires.to_rfc3339() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRequest {
    /// `health_insurance`, `driving_licence`, `vehicle_registration`, `tax_code`,
    /// `social_insurance`.
    pub kind: String,
    /// For a link: the document number.
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub source_agency: Option<String>,
    /// For a verification answer: `verified`, `rejected` (with `reason`) or `pending`.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub reason: String,
}

/// Links an integrated document, or records the source agency's verification answer.
#[utoipa::path(post, path = "/api/v1/eid/accounts/{id}/documents", params(("id" = String, Path)), request_body = DocumentRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn document(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<DocumentRequest>, JsonRejection>,
) -> ApiResult<Json<EidDocument>> {
    let Json(b) = body?;
    let id = parse_id(&id)?;
    let kind = DocumentKind::from_code(&b.kind).ok_or_else(|| {
        ApiError::from(Violation::new(
            "kind",
            "eid.document_kind",
            "Loại giấy tờ không hợp lệ",
            "unknown document kind",
        ))
    })?;
    let access = p.access(&purpose(&headers, None));
    let doc = match (b.number.as_deref(), b.state.as_deref()) {
        (Some(n), None) => {
            s.registry.eid_link_document(&access, &id, kind, n, b.source_agency.as_deref()).await?
        }
        (None, Some(st)) => {
            let to = match st {
                "verified" => VerificationState::Verified,
                "pending" => VerificationState::Pending,
                "rejected" => VerificationState::Rejected { reason: b.reason },
                _ => {
                    return Err(Violation::new(
                        "state",
                        "eid.document_state",
                        "Trạng thái phải là verified, rejected hoặc pending",
                        "state must be verified, rejected or pending",
                    )
                    .into())
                }
            };
            s.registry.eid_document_state(&access, &id, kind, to).await?
        }
        _ => {
            return Err(Violation::new(
                "number",
                "eid.document_request",
                "Gửi số giấy tờ (để tích hợp) hoặc trạng thái (để xác thực), không cả hai",
                "send either number (to link) or state (to verify), not both",
            )
            .into())
        }
    };
    Ok(Json(doc))
}

/// Issues the confirmation of a card holder's old CMND number.
#[utoipa::path(post, path = "/api/v1/citizens/{id}/cmnd-confirmations", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 201, body = Object), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn confirm_cmnd(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<CmndConfirmation>)> {
    let id = parse_id(&id)?;
    let c = s.registry.confirm_cmnd(&p.access(&purpose(&headers, None)), &id).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Looks a confirmation up by its number (in the caller's scope).
#[utoipa::path(get, path = "/api/v1/cmnd-confirmations/{number}", params(("number" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read_confirmation(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> ApiResult<Json<CmndConfirmation>> {
    Ok(Json(s.registry.cmnd_confirmation(&p.access(&purpose(&headers, None)), &number).await?))
}
