//! Residence confirmations (`/api/v1/…/confirmations`, giấy xác nhận thông tin về cư trú):
//! officers issue them for citizens in their scope, list, read and revoke them (with a
//! reason); anyone verifies one without logging in (`GET /api/v1/confirmations/verify`),
//! throttled per client address. Everything goes through the audited registry; a
//! confirmation outside the caller's scope answers 404 like a missing one.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use dancu_domain::PersonalId;
use dancu_store::confirmations::{Confirmation, Standing};

use super::citizens::{parse_id, require_reason, PurposeParam};
use super::{purpose, ApiPath, ApiQuery};
use crate::auth::Principal;
use crate::confirm::{self, Checked};
use crate::error::{self, ApiError, ApiResult};
use crate::AppState;

/// A confirmation with the token its QR code carries and the verification link.
#[derive(Serialize, ToSchema)]
pub struct ConfirmationView {
    #[serde(flatten)]
    pub confirmation: Confirmation,
    /// `v1.<payload>.<signature>` (Ed25519); absent if the key it was signed with is gone.
    pub token: Option<String>,
    /// The public verification page the QR code links to.
    pub verify_url: Option<String>,
}

impl ConfirmationView {
    pub fn new(s: &AppState, c: Confirmation) -> Self {
        let token = s.config.confirm_keys.sign(&confirm::claims_of(&c));
        let verify_url = token.as_ref().map(|t| confirm::verify_url(&s.config.oidc.issuer, t));
        ConfirmationView { confirmation: c, token, verify_url }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// Why it is revoked (required, at most 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerifyParams {
    /// The token from the QR code (`v1.<payload>.<signature>`).
    #[param(max_length = 2048)]
    pub token: String,
}

/// What a verification shows: nothing but the standing, the dates and the holder's name.
#[derive(Serialize, ToSchema)]
pub struct VerifyView {
    pub status: Standing,
    pub holder_name: String,
    #[schema(value_type = String, format = Date)]
    pub issued_on: chrono::NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub valid_until: chrono::NaiveDate,
}

pub fn parse_confirmation_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(ApiError::not_found)
}

fn holder(raw: &str) -> Result<PersonalId, ApiError> {
    parse_id(raw)
}

/// Issues a residence confirmation for a citizen in the caller's scope, from the registry
/// record as it is now, valid one year. 201 with the confirmation, its token and link.
#[utoipa::path(post, path = "/api/v1/citizens/{id}/confirmations", operation_id = "issue_confirmation",
    params(("id" = inline(PersonalId), Path), PurposeParam), security(("bearer" = [])), tag = "confirmations",
    responses((status = 201, body = ConfirmationView, description = "Issued"),
        (status = 400, response = error::BadRequest), (status = 404, response = error::NotFound),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn issue(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pp): ApiQuery<PurposeParam>,
) -> ApiResult<(StatusCode, Json<ConfirmationView>)> {
    let id = holder(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    let c = s.registry.issue_confirmation(&access, &id, s.config.confirm_keys.current_kid()).await?;
    Ok((StatusCode::CREATED, Json(ConfirmationView::new(&s, c))))
}

/// A citizen's confirmations, newest first.
#[utoipa::path(get, path = "/api/v1/citizens/{id}/confirmations", operation_id = "list_confirmations",
    params(("id" = inline(PersonalId), Path), PurposeParam), security(("bearer" = [])), tag = "confirmations",
    responses((status = 200, body = Vec<Confirmation>),
        (status = 400, response = error::BadRequest), (status = 404, response = error::NotFound),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pp): ApiQuery<PurposeParam>,
) -> ApiResult<Json<Vec<Confirmation>>> {
    let id = holder(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    Ok(Json(s.registry.confirmations_of(&access, &id).await?))
}

/// One confirmation with its token and link. 404 alike when missing or out of scope.
#[utoipa::path(get, path = "/api/v1/confirmations/{id}", operation_id = "read_confirmation_of_residence",
    params(("id" = i64, Path, description = "Confirmation id"), PurposeParam), security(("bearer" = [])), tag = "confirmations",
    responses((status = 200, body = ConfirmationView),
        (status = 400, response = error::BadRequest), (status = 404, response = error::NotFound),
        (status = 503, response = error::Unavailable)))]
pub async fn read(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pp): ApiQuery<PurposeParam>,
) -> ApiResult<Json<ConfirmationView>> {
    let id = parse_confirmation_id(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    let c = s.registry.confirmation(&access, id).await?;
    Ok(Json(ConfirmationView::new(&s, c)))
}

/// Revokes a confirmation in the caller's scope: it fails verification from then on. The
/// reason is required (422 `reason.required`); a second revocation answers 409
/// `confirmation.already_revoked`.
#[utoipa::path(post, path = "/api/v1/confirmations/{id}/revoke", operation_id = "revoke_confirmation", request_body = RevokeRequest,
    params(("id" = i64, Path, description = "Confirmation id")), security(("bearer" = [])), tag = "confirmations",
    responses((status = 200, body = Confirmation),
        (status = 400, response = error::BadRequest), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn revoke(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Result<Json<RevokeRequest>, JsonRejection>,
) -> ApiResult<Json<Confirmation>> {
    let id = parse_confirmation_id(&id)?;
    let Json(req) = body?;
    let reason = require_reason(&req.reason)?;
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.revoke_confirmation(&access, id, &reason).await?))
}

/// Verifies a confirmation's QR token, without logging in: 200 with `valid`, `revoked` or
/// `expired`, the holder's full name, the issue day and the last valid day, nothing more. A
/// token that is not one (`confirmation.malformed`), one signed with a key this authority
/// never had (`confirmation.unknown_key`), or whose signature does not match its content
/// (`confirmation.bad_signature`: forged or altered) answers 422 with that rule; a signed
/// token naming no stored confirmation answers 404. At most 120 checks a minute per client
/// address (429 `too_many_verifications` with `Retry-After`).
#[utoipa::path(get, path = "/api/v1/confirmations/verify", operation_id = "verify_confirmation", params(VerifyParams), tag = "confirmations",
    responses((status = 200, body = VerifyView),
        (status = 400, response = error::BadRequest), (status = 404, response = error::NotFound),
        (status = 422, response = error::Unprocessable), (status = 429, response = error::TooManyRequests),
        (status = 503, response = error::Unavailable)))]
pub async fn verify(
    State(s): State<AppState>,
    params: Result<Query<VerifyParams>, QueryRejection>,
) -> ApiResult<Json<VerifyView>> {
    let Query(q) = params?;
    match confirm::check(&s, &q.token).await? {
        Checked::Refused(r) => Err(ApiError::invalid(vec![r.violation()])),
        Checked::Unknown => Err(ApiError::not_found()),
        Checked::Found { standing, holder_name, issued_on, valid_until } => {
            Ok(Json(VerifyView { status: standing, holder_name, issued_on, valid_until }))
        }
    }
}
