//! ID card applications (`/api/v1/card-applications`) and a citizen's cards: intake, the
//! checked stage machine of `dancu_identity::card`, the board per stage. Everything goes
//! through the audited, scoped registry; a refused move answers 422 with the rule.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use dancu_domain::Violation;
use dancu_identity::{ApplicationKind, HandoverMethod, Stage, StageKind};
use dancu_store::{CardApplication, CardEvent, DueCard, NewCardApplication, Page, StageCount, StoredCard};

use super::citizens::{page_limit, parse_id, require_reason, PurposeParam};
use super::purpose;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplication {
    pub personal_id: String,
    /// `first_issue`, `renewal.age_milestone`, `renewal.damaged`, `renewal.changed_information`,
    /// `renewal.administrative_rearrangement`, `replacement.lost`.
    pub kind: String,
    /// Whether face and fingerprints were captured (no biometric data is stored).
    #[serde(default)]
    pub biometrics_captured: bool,
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// Target stage: `intake`, `sent_to_production`, `card_received`, `handed_over`,
    /// `rejected`, `error`, `cancelled`.
    pub to: String,
    /// Required for a step back and for rejected / error / cancelled.
    #[serde(default)]
    pub reason: Option<String>,
    pub expected_version: i64,
    /// For `handed_over`: `in_person` (default) or `post`.
    #[serde(default)]
    pub handover_method: Option<String>,
    /// For a move within `intake`: the new value of the capture flag (default true).
    #[serde(default)]
    pub biometrics_captured: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ApplicationView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub application: CardApplication,
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<CardEvent>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A stage code; all stages when absent.
    pub stage: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub purpose: Option<String>,
    /// Page language (web pages only).
    pub lang: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DueParams {
    /// Look-ahead in days, 0–3650, default 60: cards whose renewal window (30 days before
    /// expiry) opens by `on + within_days`.
    pub within_days: Option<u32>,
    /// The day the list is for (`YYYY-MM-DD`); today in Vietnam when absent.
    pub on: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub purpose: Option<String>,
    /// Page language (web pages only).
    pub lang: Option<String>,
}

/// Default look-ahead of the due-for-renewal list.
pub const DEFAULT_DUE_WITHIN_DAYS: u32 = 60;

/// Checked parameters of the due-for-renewal list: (on, within_days, limit).
pub fn due_args(q: &DueParams) -> Result<(chrono::NaiveDate, u32, u32), ApiError> {
    let on = match q.on.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => dancu_domain::date::vietnam_today(chrono::Utc::now()),
        Some(s) => s.parse().map_err(|_| {
            ApiError::from(Violation::new("on", "date.invalid", "Ngày không hợp lệ", "invalid date"))
        })?,
    };
    let within = q.within_days.unwrap_or(DEFAULT_DUE_WITHIN_DAYS);
    if within > dancu_store::MAX_DUE_WITHIN_DAYS {
        return Err(Violation::new(
            "within_days",
            "card.due_within_days",
            "within_days phải từ 0 đến 3650",
            "within_days must be 0 to 3650",
        )
        .into());
    }
    let limit = page_limit(q.limit)?;
    Ok((on, within, limit))
}

fn unknown(field: &'static str, rule: &'static str) -> ApiError {
    Violation::new(field, rule, "Giá trị không hợp lệ", "unknown value").into()
}

pub fn parse_stage_kind(code: &str) -> Result<StageKind, ApiError> {
    StageKind::from_code(code).ok_or_else(|| unknown("stage", "card.stage_unknown"))
}

/// The target stage of a move from its parts.
pub fn target_stage(
    to: &str,
    reason: Option<&str>,
    handover_method: Option<&str>,
    biometrics_captured: Option<bool>,
) -> Result<Stage, ApiError> {
    let reason = dancu_domain::nfc(reason.unwrap_or_default());
    Ok(match parse_stage_kind(to)? {
        StageKind::Intake => Stage::Intake { biometrics_captured: biometrics_captured.unwrap_or(true) },
        StageKind::SentToProduction => Stage::SentToProduction,
        StageKind::CardReceived => Stage::CardReceived,
        StageKind::HandedOver => Stage::HandedOver {
            method: match handover_method.map(str::trim) {
                None | Some("") | Some("in_person") => HandoverMethod::InPerson,
                Some("post") => HandoverMethod::Post,
                Some(_) => return Err(unknown("handover_method", "card.handover_method_unknown")),
            },
        },
        StageKind::Rejected => Stage::Rejected { reason },
        StageKind::Error => Stage::Error { reason },
        StageKind::Cancelled => Stage::Cancelled { reason },
    })
}

pub fn parse_app_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

/// Takes in an application at intake for a citizen in the caller's scope.
#[utoipa::path(post, path = "/api/v1/card-applications", request_body = CreateApplication, security(("bearer" = [])),
    responses((status = 201, body = Object), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Result<Json<CreateApplication>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<CardApplication>)> {
    let Json(req) = body?;
    let personal_id = parse_id(&req.personal_id)?;
    let kind = ApplicationKind::from_code(&req.kind)?;
    let reason = require_reason(&req.reason)?;
    let access = p.access(&purpose(&headers, None));
    let n = NewCardApplication {
        personal_id,
        kind,
        biometrics_captured: req.biometrics_captured,
        reason,
        unit: p.scope.to_string(),
    };
    Ok((StatusCode::CREATED, Json(s.registry.create_card_application(&access, &n).await?)))
}

/// Applications in the caller's scope, optionally at one stage, longest waiting first.
#[utoipa::path(get, path = "/api/v1/card-applications", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "Page of applications")))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    params: Result<Query<ListParams>, QueryRejection>,
) -> ApiResult<Json<Page<CardApplication>>> {
    let Query(q) = params?;
    let stage = q.stage.as_deref().filter(|s| !s.is_empty()).map(parse_stage_kind).transpose()?;
    let limit = page_limit(q.limit)?;
    let access = p.access(&purpose(&headers, q.purpose.as_deref()));
    Ok(Json(s.registry.list_card_applications(&access, stage, limit, q.offset.unwrap_or(0)).await?))
}

/// One application with its stage history. 404 alike when missing or out of scope.
#[utoipa::path(get, path = "/api/v1/card-applications/{id}", params(("id" = i64, Path), PurposeParam), security(("bearer" = [])),
    responses((status = 200, body = ApplicationView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(pp): Query<PurposeParam>,
) -> ApiResult<Json<ApplicationView>> {
    let id = parse_app_id(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    let (application, events) = s.registry.card_application(&access, id).await?;
    Ok(Json(ApplicationView { application, events }))
}

/// Moves an application to another stage. Refused moves answer 422 with the rule
/// (`card.stage_skip`, `card.stage_back_without_reason`, …) and change nothing; a stale
/// `expected_version` answers 409. Hand-over issues the card.
#[utoipa::path(post, path = "/api/v1/card-applications/{id}/transitions", request_body = TransitionRequest, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn transition(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<TransitionRequest>, JsonRejection>,
) -> ApiResult<Json<CardApplication>> {
    let id = parse_app_id(&id)?;
    let Json(req) = body?;
    let to = target_stage(
        &req.to,
        req.reason.as_deref(),
        req.handover_method.as_deref(),
        req.biometrics_captured,
    )?;
    let access = p.access(&purpose(&headers, None));
    let reason = req.reason.as_deref().map(dancu_domain::nfc);
    Ok(Json(
        s.registry
            .transition_card_application(&access, id, &to, reason.as_deref(), req.expected_version)
            .await?,
    ))
}

/// How many applications in the caller's scope wait at each stage.
#[utoipa::path(get, path = "/api/v1/card-applications/board", security(("bearer" = [])),
    responses((status = 200, body = Object, description = "Count per stage")))]
pub async fn board(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<StageCount>>> {
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.card_board(&access).await?))
}

/// A citizen's ID cards, newest first.
#[utoipa::path(get, path = "/api/v1/citizens/{id}/cards", params(("id" = String, Path), PurposeParam), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub async fn citizen_cards(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(pp): Query<PurposeParam>,
) -> ApiResult<Json<Vec<StoredCard>>> {
    let id = parse_id(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    Ok(Json(s.registry.cards(&access, &id).await?))
}

/// The due-for-renewal list in the caller's scope: valid cards whose renewal window (30
/// days before expiry, by the 25/40/60 rule) opens by `on + within_days` and that have not
/// expired on `on`; soonest first. Audited as `card.due_list`.
#[utoipa::path(get, path = "/api/v1/cards/due-for-renewal", params(DueParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "Page of due cards"), (status = 422, body = crate::error::ErrorBody)))]
pub async fn due_for_renewal(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    params: Result<Query<DueParams>, QueryRejection>,
) -> ApiResult<Json<Page<DueCard>>> {
    let Query(q) = params?;
    let (on, within, limit) = due_args(&q)?;
    let access = p.access(&purpose(&headers, q.purpose.as_deref()));
    Ok(Json(s.registry.cards_due_for_renewal(&access, on, within, limit, q.offset.unwrap_or(0)).await?))
}
