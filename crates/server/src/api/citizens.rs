use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use dancu_domain::citizen::CitizenDraft;
use dancu_domain::{fold_key, PartialDate, PersonalId, Violation};
use dancu_store::{AuditEntry, CitizenQuery, CitizenSummary, CitizenVersion, Page, StoredCitizen};

use super::purpose;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub const MAX_PAGE: u32 = 100;

#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A personal ID (12 digits) or the start of a name, marks optional.
    pub q: Option<String>,
    pub name: Option<String>,
    pub birth_year: Option<i32>,
    /// `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or `DD/MM/YYYY`.
    pub birth_date: Option<String>,
    /// 2025 commune code (5 digits).
    pub commune: Option<String>,
    pub household: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub purpose: Option<String>,
    /// Page language (web pages only): `vi` or `en`.
    pub lang: Option<String>,
}

impl SearchParams {
    /// Turns the parameters into a store query, naming the parameter of any mistake.
    pub fn to_query(&self) -> Result<CitizenQuery, Vec<Violation>> {
        let mut errs = Vec::new();
        let mut q = CitizenQuery {
            limit: page_limit(self.limit).unwrap_or_else(|v| {
                errs.push(v);
                0
            }),
            offset: self.offset.unwrap_or(0),
            ..Default::default()
        };
        let nonempty =
            |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        if let Some(text) = nonempty(&self.q) {
            if text.bytes().all(|b| b.is_ascii_digit()) {
                match text.parse::<PersonalId>() {
                    Ok(id) => q.personal_id = Some(id),
                    Err(v) => errs.push(v.at("q")),
                }
            } else {
                q.name_key = Some(fold_key(&text));
            }
        }
        if let Some(n) = nonempty(&self.name) {
            q.name_key = Some(fold_key(&n));
        }
        if let Some(d) = nonempty(&self.birth_date) {
            match d.parse::<PartialDate>() {
                Ok(d) => q.birth_date = Some(d),
                Err(v) => errs.push(v.at("birth_date")),
            }
        }
        q.birth_year = self.birth_year;
        if let Some(c) = nonempty(&self.commune) {
            if dancu_domain::admin_units().commune_2025(&c).is_none() {
                errs.push(Violation::new(
                    "commune",
                    "unit.unknown",
                    "Mã xã không có trong danh mục 2025",
                    "commune code not in the 2025 list",
                ));
            }
            q.commune = Some(c);
        }
        q.household_no = nonempty(&self.household);
        if errs.is_empty() {
            Ok(q)
        } else {
            Err(errs)
        }
    }
}

/// Searches citizens in the caller's scope by personal ID, name (folded, prefix), date
/// or year of birth, commune or household. Paginated.
#[utoipa::path(get, path = "/api/v1/citizens", params(SearchParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "Page of citizen summaries"), (status = 422, body = crate::error::ErrorBody)))]
pub async fn search(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> ApiResult<Json<Page<CitizenSummary>>> {
    let Query(params) = params?;
    let q = params.to_query().map_err(ApiError::invalid)?;
    let access = p.access(&purpose(&headers, params.purpose.as_deref()));
    Ok(Json(s.registry.search(&access, &q).await?))
}

/// A list's page size: 20 when not given, else 1 to [`MAX_PAGE`] (`page.limit`).
pub fn page_limit(limit: Option<u32>) -> Result<u32, Violation> {
    let limit = limit.unwrap_or(20);
    if limit == 0 || limit > MAX_PAGE {
        return Err(Violation::new(
            "limit",
            "page.limit",
            "limit phải từ 1 đến 100",
            "limit must be 1 to 100",
        ));
    }
    Ok(limit)
}

pub fn parse_id(raw: &str) -> Result<PersonalId, ApiError> {
    raw.parse::<PersonalId>().map_err(|v| ApiError::invalid(vec![v]))
}

#[derive(Deserialize, IntoParams)]
pub struct PurposeParam {
    pub purpose: Option<String>,
}

/// Reads one citizen. Answers 404 alike for a missing record and one outside the
/// caller's scope.
#[utoipa::path(get, path = "/api/v1/citizens/{id}", params(("id" = String, Path), PurposeParam), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(pp): Query<PurposeParam>,
) -> ApiResult<Json<StoredCitizen>> {
    let id = parse_id(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    Ok(Json(s.registry.read_citizen(&access, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCitizen {
    /// The record; field formats in docs/CSV.md.
    #[schema(value_type = Object)]
    pub citizen: CitizenDraft,
    /// Why the record is created (kept in the history).
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCitizen {
    #[schema(value_type = Object)]
    pub citizen: CitizenDraft,
    /// The version the change was made from (optimistic locking).
    pub expected_version: i64,
    pub reason: String,
}

/// The longest reason for a change that is stored.
pub const MAX_REASON_CHARS: usize = 500;

pub fn require_reason(reason: &str) -> Result<String, ApiError> {
    let r = dancu_domain::nfc(reason.trim());
    if r.is_empty() {
        return Err(Violation::new(
            "reason",
            "reason.required",
            "Cần ghi lý do thay đổi",
            "a reason for the change is required",
        )
        .into());
    }
    if r.chars().count() > MAX_REASON_CHARS {
        return Err(Violation::new(
            "reason",
            "reason.too_long",
            format!("Lý do dài quá {MAX_REASON_CHARS} ký tự"),
            format!("the reason is longer than {MAX_REASON_CHARS} characters"),
        )
        .into());
    }
    Ok(r)
}

/// Creates a citizen record in the caller's scope.
#[utoipa::path(post, path = "/api/v1/citizens", request_body = CreateCitizen, security(("bearer" = [])),
    responses((status = 201, body = Object), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Result<Json<CreateCitizen>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<StoredCitizen>)> {
    let Json(req) = body?;
    let reason = require_reason(&req.reason)?;
    let c = req
        .citizen
        .validate_typed(dancu_domain::date::vietnam_today(chrono::Utc::now()))
        .map_err(ApiError::invalid)?;
    let access = p.access(&purpose(&headers, None));
    Ok((StatusCode::CREATED, Json(s.registry.create_citizen(&access, &c, &reason).await?)))
}

/// Replaces a citizen's data; the previous version is kept with who, when and why.
#[utoipa::path(put, path = "/api/v1/citizens/{id}", request_body = UpdateCitizen, params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<UpdateCitizen>, JsonRejection>,
) -> ApiResult<Json<StoredCitizen>> {
    let id = parse_id(&id)?;
    let Json(req) = body?;
    let reason = require_reason(&req.reason)?;
    let c = req
        .citizen
        .validate_typed(dancu_domain::date::vietnam_today(chrono::Utc::now()))
        .map_err(ApiError::invalid)?;
    if c.personal_id != id {
        return Err(Violation::new(
            "citizen.personal_id",
            "personal_id.path_mismatch",
            "Số định danh trong nội dung khác số trên đường dẫn",
            "the personal ID in the body differs from the one in the path",
        )
        .into());
    }
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.update_citizen(&access, &c, req.expected_version, &reason).await?))
}

/// Earlier versions of a citizen record, newest first.
#[utoipa::path(get, path = "/api/v1/citizens/{id}/history", params(("id" = String, Path), PurposeParam), security(("bearer" = [])),
    responses((status = 200, body = Object)))]
pub async fn history(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(pp): Query<PurposeParam>,
) -> ApiResult<Json<Vec<CitizenVersion>>> {
    let id = parse_id(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    Ok(Json(s.registry.citizen_history(&access, &id).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct PageParams {
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

/// Who accessed this record, when and why (from the audit log), newest first.
#[utoipa::path(get, path = "/api/v1/citizens/{id}/access-log", params(("id" = String, Path), PageParams), security(("bearer" = [])),
    responses((status = 200, body = Object)))]
pub async fn access_log(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(pp): Query<PageParams>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    let id = parse_id(&id)?;
    let access = p.access(&purpose(&headers, None));
    let limit = pp.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    Ok(Json(s.registry.audit_of(&access, id.as_str(), limit, pp.offset.unwrap_or(0)).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(r: Result<String, ApiError>) -> String {
        r.unwrap_err().violations[0].rule.to_string()
    }

    #[test]
    fn a_reason_is_required_and_bounded_each_with_its_own_rule() {
        assert_eq!(rule(require_reason("   ")), "reason.required");
        assert_eq!(rule(require_reason(&"x".repeat(MAX_REASON_CHARS + 1))), "reason.too_long");
        // Counted in characters, not bytes: 500 Vietnamese letters fit.
        assert_eq!(require_reason(&"ễ".repeat(MAX_REASON_CHARS)).unwrap().chars().count(), MAX_REASON_CHARS);
        assert_eq!(require_reason("  chuyển hộ khẩu ").unwrap(), "chuyển hộ khẩu");
    }
}
