//! Public-service applications (`/api/v1/applications`, hồ sơ): an officer's desk intake,
//! the work queue sorted by due date with overdue flagged, transitions of the state machine
//! of `dancu_domain::application`, documents (PDF, JPEG, PNG, reused by hash) and counts for
//! the reports. Everything goes through the audited, scoped registry; out-of-scope
//! applications answer 404 like missing ones.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use dancu_domain::application::{check_document, AppState, Channel};
use dancu_domain::{PersonalId, Violation};
use dancu_store::applications::{
    Application, ApplicationCount, ApplicationDocument, ApplicationEvent, QueueFilter,
};
use dancu_store::registry::{ApplicationFile, Submission};
use dancu_store::Page;

use super::citizens::{page_limit, page_offset, parse_id, PurposeParam, MAX_REASON_CHARS};
use super::{purpose, ApiPath, ApiQuery};
use crate::auth::Principal;
use crate::error::{self, ApiError, ApiResult};
use crate::AppState as ServerState;

/// A code of the service catalogue (`data/services.csv`): the document lists them, so a
/// code outside the catalogue is outside the schema.
fn service_code_object() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(dancu_domain::services::catalogue().iter().map(|s| s.code.clone())))
        .description(Some("A code of the service catalogue (data/services.csv)"))
        .build()
}

fn service_code_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    service_code_object().into()
}

/// Longest idempotency key.
pub const MAX_KEY_CHARS: usize = 100;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSubmitRequest {
    #[schema(value_type = PersonalId)]
    pub personal_id: String,
    /// A code of the service catalogue (`data/services.csv`), e.g. `residence_temporary`.
    #[schema(schema_with = service_code_schema)]
    pub service_code: String,
    /// `desk` (default) or `post`; online applications come from the citizen portal.
    #[schema(value_type = Option<String>, pattern = "^(?:desk|post)$")]
    pub channel: Option<String>,
    /// The same key from the same applicant returns the first application (200) instead
    /// of creating a second one; 1–100 visible characters. A random key when absent.
    #[schema(max_length = 100)]
    pub idempotency_key: Option<String>,
    /// The day the unit received the file (`YYYY-MM-DD`), when earlier than today (by
    /// post, or after the desk closed): the due date counts from it. Not after today
    /// (422 `application.received_on`); today when absent.
    #[schema(value_type = Option<String>, format = Date)]
    pub received_on: Option<String>,
    /// What a residence procedure asks for (required for `residence_*` and `household_*`
    /// services, docs/RESIDENCE.md): its `procedure` must belong to the service; ignored by
    /// the other services. Refusals name the field under `payload.` (422).
    #[schema(value_type = Option<dancu_domain::residence::ResidenceRequest>)]
    pub payload: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationMoveRequest {
    /// Target state: `accepted`, `not_accepted`, `in_process`, `info_requested`,
    /// `completed`, `rejected`, `withdrawn`.
    #[schema(value_type = AppState)]
    pub to: String,
    /// Required for not_accepted, info_requested, rejected and withdrawn (at most 500
    /// characters).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// The version the officer saw (409 when it changed).
    #[schema(value_type = i64)]
    pub expected_version: super::Version,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationDocumentRequest {
    /// What the document is: `application_form`, `identity`, `residence_proof`,
    /// `rental_contract`, `consent`, `birth_certificate`, `marriage_certificate`, `photo`, `other`.
    #[schema(
        pattern = "^(?:application_form|identity|residence_proof|rental_contract|consent|birth_certificate|marriage_certificate|photo|other)$"
    )]
    pub kind: String,
    /// `application/pdf`, `image/jpeg` or `image/png`; the content must be of that type.
    #[schema(value_type = String, pattern = "^(?:application/pdf|image/jpeg|image/png)$")]
    pub media_type: String,
    /// The file, base64 (standard alphabet); at most 2 MB decoded, and within the server's
    /// request size limit.
    pub content_base64: String,
}

/// An application with its transitions (oldest first) and documents.
#[derive(Serialize, ToSchema)]
pub struct ApplicationFileView {
    #[serde(flatten)]
    pub application: Application,
    pub events: Vec<ApplicationEvent>,
    pub documents: Vec<ApplicationDocument>,
    /// Consents recorded (a household head's, for a permanent registration joining it).
    pub consents: Vec<dancu_store::residences::Consent>,
    /// The states the caller may move it to now.
    #[schema(value_type = Vec<AppState>)]
    pub allowed: Vec<AppState>,
}

impl From<ApplicationFile> for ApplicationFileView {
    fn from(f: ApplicationFile) -> Self {
        let allowed = f.application.state.allowed_for(dancu_domain::application::Mover::Officer);
        ApplicationFileView {
            application: f.application,
            events: f.events,
            documents: f.documents,
            consents: f.consents,
            allowed,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// A state code; every state when absent.
    #[param(value_type = Option<AppState>)]
    pub state: Option<String>,
    /// A service code; every service when absent.
    #[param(schema_with = service_code_object)]
    pub service_code: Option<String>,
    /// Only open applications past their due date.
    pub overdue: Option<bool>,
    /// Only applications still open (submitted, accepted, in process, information
    /// requested). The API lists every state when absent; the officer's page
    /// (`/applications`) lists the open ones unless `open=false`.
    pub open: Option<bool>,
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

/// Checked queue filters.
pub fn queue_filter(q: &QueueParams) -> Result<QueueFilter, ApiError> {
    let state = match q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(AppState::from_code(s).map_err(ApiError::bad_query)?),
    };
    let service_code = match q.service_code.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Some(known_service(c).map_err(ApiError::bad_query)?),
    };
    Ok(QueueFilter {
        state,
        service_code,
        overdue_only: q.overdue.unwrap_or(false),
        open_only: q.open.unwrap_or(false),
        personal_id: None,
    })
}

fn known_service(code: &str) -> Result<String, Violation> {
    dancu_domain::services::service(code).map(|s| s.code.clone()).ok_or_else(|| {
        Violation::new(
            "service_code",
            "application.service_unknown",
            "Mã dịch vụ công không có trong danh mục",
            "the service code is not in the catalogue",
        )
    })
}

/// A checked idempotency key, or a fresh random one.
pub fn idempotency_key(raw: Option<&str>) -> Result<String, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(crate::auth::random_token()),
        Some(k) if k.chars().count() <= MAX_KEY_CHARS && !k.chars().any(char::is_control) => {
            Ok(k.to_string())
        }
        Some(_) => Err(Violation::new(
            "idempotency_key",
            "application.idempotency_key",
            "Khóa chống gửi trùng dài 1–100 ký tự, không chứa ký tự điều khiển",
            "the idempotency key is 1-100 characters without control characters",
        )
        .into()),
    }
}

/// A checked receipt day (`YYYY-MM-DD`), if given.
pub fn received_on(raw: Option<&str>) -> Result<Option<chrono::NaiveDate>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            Violation::new("received_on", "date.invalid", "Ngày không hợp lệ", "invalid date").into()
        }),
    }
}

/// A checked transition target and reason.
pub fn move_args(to: &str, reason: Option<&str>) -> Result<(AppState, String), ApiError> {
    let to = AppState::from_code(to.trim()).map_err(|v| ApiError::invalid(vec![v.at("to")]))?;
    let reason = dancu_domain::nfc(reason.unwrap_or_default().trim());
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Violation::new(
            "reason",
            "reason.too_long",
            "Lý do tối đa 500 ký tự",
            "the reason is at most 500 characters",
        )
        .into());
    }
    Ok((to, reason))
}

/// A checked document: its decoded bytes.
pub fn document_bytes(d: &ApplicationDocumentRequest) -> Result<Vec<u8>, ApiError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(d.content_base64.trim()).map_err(|_| {
        ApiError::from(Violation::new(
            "content_base64",
            "document.base64",
            "Nội dung tệp phải mã hóa base64",
            "the content must be base64",
        ))
    })?;
    check_document(&d.kind, &d.media_type, &bytes)?;
    Ok(bytes)
}

pub fn parse_app_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

/// Takes in an application at the desk (or by post) for a citizen in the caller's scope.
/// 201 with the new application; 200 with the first one when the idempotency key was used
/// before by the same applicant. Stored durably before the answer.
#[utoipa::path(post, path = "/api/v1/applications", operation_id = "submit_application", request_body = ApplicationSubmitRequest, security(("bearer" = [])), tag = "applications",
    responses((status = 201, body = Application, description = "Submitted"),
        (status = 200, body = Application, description = "The first application under this idempotency key"),
        (status = 400, response = error::BadRequest), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn submit(
    State(s): State<ServerState>,
    p: Principal,
    headers: HeaderMap,
    body: Result<Json<ApplicationSubmitRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Application>)> {
    let Json(req) = body?;
    let personal_id = parse_id(&req.personal_id)?;
    let channel = match req.channel.as_deref().map(str::trim) {
        None | Some("") => Channel::Desk,
        Some(c) => Channel::from_code(c)?,
    };
    let sub = Submission {
        personal_id,
        service_code: known_service(req.service_code.trim())?,
        channel,
        idempotency_key: idempotency_key(req.idempotency_key.as_deref())?,
        received_on: received_on(req.received_on.as_deref())?,
        payload: req.payload,
    };
    let access = p.access(&purpose(&headers, None));
    let (app, created) = s.registry.submit_application(&access, &sub).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(app)))
}

/// The work queue in the caller's scope: soonest due first (overdue ones lead and are
/// flagged), optionally one state, one service, or overdue only.
#[utoipa::path(get, path = "/api/v1/applications", operation_id = "list_applications", params(QueueParams), security(("bearer" = [])), tag = "applications",
    responses((status = 200, body = Page<Application>, description = "Page of applications"),
        (status = 400, response = error::BadRequest), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn list(
    State(s): State<ServerState>,
    p: Principal,
    headers: HeaderMap,
    params: Result<Query<QueueParams>, QueryRejection>,
) -> ApiResult<Json<Page<Application>>> {
    let Query(q) = params?;
    let offset = page_offset(q.offset)?;
    let limit = page_limit(q.limit)?;
    let f = queue_filter(&q)?;
    let access = p.access(&purpose(&headers, q.purpose.as_deref()));
    Ok(Json(s.registry.list_applications(&access, &f, limit, offset).await?))
}

/// Applications in the caller's scope per service, channel, handling unit, state, on time
/// (decided ones) and overdue (open ones, today): the figures of the reports.
#[utoipa::path(get, path = "/api/v1/applications/counts", operation_id = "application_counts", security(("bearer" = [])), tag = "applications",
    responses((status = 200, body = Vec<ApplicationCount>, description = "Counts"),
        (status = 503, response = error::Unavailable)))]
pub async fn counts(
    State(s): State<ServerState>,
    p: Principal,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<ApplicationCount>>> {
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.application_counts(&access).await?))
}

/// One application with its history and documents. 404 alike when missing or out of scope.
#[utoipa::path(get, path = "/api/v1/applications/{id}", operation_id = "read_application", params(("id" = i64, Path, description = "Application id"), PurposeParam),
    security(("bearer" = [])), tag = "applications",
    responses((status = 200, body = ApplicationFileView),
        (status = 400, response = error::BadRequest), (status = 404, response = error::NotFound),
        (status = 503, response = error::Unavailable)))]
pub async fn read(
    State(s): State<ServerState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pp): ApiQuery<PurposeParam>,
) -> ApiResult<Json<ApplicationFileView>> {
    let id = parse_app_id(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    Ok(Json(s.registry.application(&access, id).await?.into()))
}

/// Moves an application. Refused moves answer 422 with the rule
/// (`application.transition_not_allowed`, `application.final_state`,
/// `application.reason_required`) and change nothing; a stale `expected_version` answers 409.
#[utoipa::path(post, path = "/api/v1/applications/{id}/transitions", operation_id = "move_application", request_body = ApplicationMoveRequest,
    params(("id" = i64, Path, description = "Application id")), security(("bearer" = [])), tag = "applications",
    responses((status = 200, body = Application),
        (status = 400, response = error::BadRequest), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn transition(
    State(s): State<ServerState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Result<Json<ApplicationMoveRequest>, JsonRejection>,
) -> ApiResult<Json<Application>> {
    let id = parse_app_id(&id)?;
    let Json(req) = body?;
    let (to, reason) = move_args(&req.to, req.reason.as_deref())?;
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.transition_application(&access, id, to, &reason, req.expected_version.0).await?))
}

/// Attaches a document to an open application. A file already digitised for the same
/// citizen (same SHA-256) is reused, not stored again (`reused: true`). Wrong type, wrong
/// content, empty or over 2 MB: 422 with the rule (`document.media_type`,
/// `document.content_mismatch`, `document.empty`, `document.too_large`).
#[utoipa::path(post, path = "/api/v1/applications/{id}/documents", operation_id = "add_application_document", request_body = ApplicationDocumentRequest,
    params(("id" = i64, Path, description = "Application id")), security(("bearer" = [])), tag = "applications",
    responses((status = 201, body = ApplicationDocument),
        (status = 400, response = error::BadRequest), (status = 404, response = error::NotFound),
        (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn add_document(
    State(s): State<ServerState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Result<Json<ApplicationDocumentRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<ApplicationDocument>)> {
    let id = parse_app_id(&id)?;
    let Json(req) = body?;
    let bytes = document_bytes(&req)?;
    let access = p.access(&purpose(&headers, None));
    let doc = s.registry.add_application_document(&access, id, &req.kind, &req.media_type, &bytes).await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

/// Records the household head's written consent, taken at the desk, for a permanent
/// registration that joins the household (`residence.consent_not_needed` for any other
/// application, `residence.consent_given` when already recorded). The consents after it.
#[utoipa::path(post, path = "/api/v1/applications/{id}/consent", operation_id = "record_application_consent",
    params(("id" = i64, Path, description = "Application id")), security(("bearer" = [])), tag = "applications",
    responses((status = 200, body = Vec<dancu_store::residences::Consent>),
        (status = 400, response = error::BadRequest), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn consent(
    State(s): State<ServerState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<dancu_store::residences::Consent>>> {
    let id = parse_app_id(&id)?;
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.record_written_consent(&access, id).await?))
}
