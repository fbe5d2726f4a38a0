//! ID card applications (`/api/v1/card-applications`) and a citizen's cards: intake, the
//! checked stage machine of `dancu_identity::card`, the board per stage. Everything goes
//! through the audited, scoped registry; a refused move answers 422 with the rule.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, ToSchema};

use dancu_domain::{PersonalId, Violation};
use dancu_identity::openapi::ApplicationKindCode;
use dancu_identity::{ApplicationKind, HandoverMethod, Stage, StageKind};
use dancu_store::{CardApplication, CardEvent, DueCard, NewCardApplication, Page, StageCount, StoredCard};

use super::citizens::{page_limit, page_offset, parse_id, require_reason, PurposeParam};
use super::{purpose, ApiPath, ApiQuery, Version};
use crate::auth::Principal;
use crate::error::{self, ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplication {
    #[schema(value_type = PersonalId)]
    pub personal_id: String,
    /// `first_issue`, `renewal.age_milestone`, `renewal.damaged`, `renewal.changed_information`,
    /// `renewal.administrative_rearrangement`, `replacement.lost`.
    #[schema(value_type = ApplicationKindCode)]
    pub kind: String,
    /// Whether face and fingerprints were captured (no biometric data is stored).
    #[serde(default)]
    pub biometrics_captured: bool,
    /// Why the citizen applies: not blank, at most 500 characters.
    #[schema(schema_with = super::schema::reason)]
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// Target stage: `intake`, `sent_to_production`, `card_received`, `handed_over`,
    /// `rejected`, `error`, `cancelled`.
    pub to: String,
    /// Required for a step back and for rejected / error / cancelled.
    #[serde(default)]
    pub reason: Option<String>,
    pub expected_version: Version,
    /// For `handed_over`: `in_person` (default) or `post`.
    #[serde(default)]
    pub handover_method: Option<String>,
    /// For a move within `intake`: the new value of the capture flag (default true).
    #[serde(default)]
    pub biometrics_captured: Option<bool>,
}

impl utoipa::PartialSchema for TransitionRequest {
    fn schema() -> RefOr<Schema> {
        use super::schema::*;
        let v = || ("expected_version", int64());
        let optional_reason = || ("reason", string(Some(super::citizens::MAX_REASON_CHARS)));
        one_of(
            "A move to stage `to` from the version the officer saw (`expected_version`; 409 when \
             it changed). A step back also needs a `reason` (422 `card.stage_back_without_reason`); \
             which moves the stage machine allows depends on the current stage (422 with the rule)",
            vec![
                variant(
                    "Within intake: record whether face and fingerprints were captured (default true)",
                    vec![
                        ("to", constant("intake")),
                        v(),
                        ("biometrics_captured", boolean()),
                        optional_reason(),
                    ],
                    &["to", "expected_version"],
                ),
                variant(
                    "Sent to production, or the card received at the unit",
                    vec![
                        ("to", one_of_strings(&["sent_to_production", "card_received"])),
                        v(),
                        optional_reason(),
                    ],
                    &["to", "expected_version"],
                ),
                variant(
                    "Handed over, in person (default) or by post: issues the card",
                    vec![
                        ("to", constant("handed_over")),
                        v(),
                        ("handover_method", one_of_strings(&["in_person", "post"])),
                        optional_reason(),
                    ],
                    &["to", "expected_version"],
                ),
                variant(
                    "Rejected, failed or cancelled, for `reason`",
                    vec![
                        ("to", one_of_strings(&["rejected", "error", "cancelled"])),
                        v(),
                        ("reason", reason()),
                    ],
                    &["to", "expected_version", "reason"],
                ),
            ],
        )
    }
}

impl ToSchema for TransitionRequest {}

/// An application with its stage history (oldest first).
#[derive(Serialize, ToSchema)]
pub struct ApplicationView {
    #[serde(flatten)]
    pub application: CardApplication,
    pub events: Vec<CardEvent>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A stage code; all stages when absent.
    #[param(value_type = Option<StageKind>)]
    pub stage: Option<String>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// 0 to 2⁶³−1, default 0.
    #[param(minimum = 0, maximum = 9223372036854775807_u64, default = 0)]
    pub offset: Option<u64>,
    /// Why the officer lists (recorded in the access log).
    pub purpose: Option<String>,
    /// Page language (web pages only).
    #[param(pattern = "^(?:vi|en)$")]
    pub lang: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DueParams {
    /// Look-ahead in days, 0–3650, default 60: cards whose renewal window (30 days before
    /// expiry) opens by `on + within_days`.
    #[param(minimum = 0, maximum = 3650, default = 60)]
    pub within_days: Option<u32>,
    /// The day the list is for (`YYYY-MM-DD`); today in Vietnam when absent.
    #[param(value_type = Option<String>, format = Date)]
    pub on: Option<String>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// 0 to 2⁶³−1, default 0.
    #[param(minimum = 0, maximum = 9223372036854775807_u64, default = 0)]
    pub offset: Option<u64>,
    /// Why the officer lists (recorded in the access log).
    pub purpose: Option<String>,
    /// Page language (web pages only).
    #[param(pattern = "^(?:vi|en)$")]
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
#[utoipa::path(post, path = "/api/v1/card-applications", operation_id = "create_card_application", request_body = CreateApplication, security(("bearer" = [])), tag = "cards",
    responses((status = 201, body = CardApplication, links(("ReadApplication" = (operation_id = "read_card_application", parameters(("id" = "$response.body#/id")))), ("MoveApplication" = (operation_id = "move_card_application", parameters(("id" = "$response.body#/id")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
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
#[utoipa::path(get, path = "/api/v1/card-applications", operation_id = "list_card_applications", params(ListParams), security(("bearer" = [])), tag = "cards",
    responses((status = 200, body = Page<CardApplication>, description = "Page of applications",
        links(("ReadApplication" = (operation_id = "read_card_application", parameters(("id" = "$response.body#/items/0/id")))), ("MoveApplication" = (operation_id = "move_card_application", parameters(("id" = "$response.body#/items/0/id")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    params: Result<Query<ListParams>, QueryRejection>,
) -> ApiResult<Json<Page<CardApplication>>> {
    let Query(q) = params?;
    let offset = page_offset(q.offset)?;
    let stage = q.stage.as_deref().filter(|s| !s.is_empty()).map(parse_stage_kind).transpose()?;
    let limit = page_limit(q.limit)?;
    let access = p.access(&purpose(&headers, q.purpose.as_deref()));
    Ok(Json(s.registry.list_card_applications(&access, stage, limit, offset).await?))
}

/// One application with its stage history. 404 alike when missing or out of scope.
#[utoipa::path(get, path = "/api/v1/card-applications/{id}", operation_id = "read_card_application", params(("id" = i64, Path, description = "Application id"), PurposeParam),
    security(("bearer" = [])), tag = "cards",
    responses((status = 200, body = ApplicationView),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound), (status = 503, response = error::Unavailable)))]
pub async fn read(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pp): ApiQuery<PurposeParam>,
) -> ApiResult<Json<ApplicationView>> {
    let id = parse_app_id(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    let (application, events) = s.registry.card_application(&access, id).await?;
    Ok(Json(ApplicationView { application, events }))
}

/// Moves an application to another stage. Refused moves answer 422 with the rule
/// (`card.stage_skip`, `card.stage_back_without_reason`, …) and change nothing; a stale
/// `expected_version` answers 409. Hand-over issues the card.
#[utoipa::path(post, path = "/api/v1/card-applications/{id}/transitions", operation_id = "move_card_application", request_body = TransitionRequest,
    params(("id" = i64, Path, description = "Application id")), security(("bearer" = [])), tag = "cards",
    responses((status = 200, body = CardApplication, links(("ReadApplication" = (operation_id = "read_card_application", parameters(("id" = "$response.body#/id")))), ("MoveApplication" = (operation_id = "move_card_application", parameters(("id" = "$response.body#/id")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn transition(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
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
            .transition_card_application(&access, id, &to, reason.as_deref(), req.expected_version.0)
            .await?,
    ))
}

/// How many applications in the caller's scope wait at each stage.
#[utoipa::path(get, path = "/api/v1/card-applications/board", operation_id = "card_board", security(("bearer" = [])), tag = "cards",
    responses((status = 200, body = Vec<StageCount>, description = "Count per stage"),
        (status = 401, response = error::Unauthorized), (status = 503, response = error::Unavailable)))]
pub async fn board(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<StageCount>>> {
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.card_board(&access).await?))
}

/// A citizen's ID cards, newest first.
#[utoipa::path(get, path = "/api/v1/citizens/{id}/cards", operation_id = "citizen_cards", params(("id" = inline(PersonalId), Path), PurposeParam),
    security(("bearer" = [])), tag = "cards",
    responses((status = 200, body = Vec<StoredCard>),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn citizen_cards(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pp): ApiQuery<PurposeParam>,
) -> ApiResult<Json<Vec<StoredCard>>> {
    let id = parse_id(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    Ok(Json(s.registry.cards(&access, &id).await?))
}

/// The due-for-renewal list in the caller's scope: valid cards whose renewal window (30
/// days before expiry, by the 25/40/60 rule) opens by `on + within_days` and that have not
/// expired on `on`; soonest first. Audited as `card.due_list`.
#[utoipa::path(get, path = "/api/v1/cards/due-for-renewal", operation_id = "cards_due_for_renewal", params(DueParams), security(("bearer" = [])), tag = "cards",
    responses((status = 200, body = Page<DueCard>, description = "Page of due cards",
        links(("ReadCitizen" = (operation_id = "read_citizen", parameters(("id" = "$response.body#/items/0/personal_id")))), ("CitizenCards" = (operation_id = "citizen_cards", parameters(("id" = "$response.body#/items/0/personal_id")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn due_for_renewal(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    params: Result<Query<DueParams>, QueryRejection>,
) -> ApiResult<Json<Page<DueCard>>> {
    let Query(q) = params?;
    let offset = page_offset(q.offset)?;
    let (on, within, limit) = due_args(&q)?;
    let access = p.access(&purpose(&headers, q.purpose.as_deref()));
    Ok(Json(s.registry.cards_due_for_renewal(&access, on, within, limit, offset).await?))
}
