use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use dancu_domain::citizen::CitizenDraft;
use dancu_domain::{fold_key, PartialDate, PersonalId, Violation};
use dancu_store::{AuditEntry, CitizenQuery, CitizenSummary, CitizenVersion, Page, StoredCitizen};

use super::{purpose, ApiPath, ApiQuery, Version};
use crate::auth::Principal;
use crate::error::{self, ApiError, ApiResult, ErrorBody};
use crate::AppState;

pub const MAX_PAGE: u32 = 100;

/// The deepest page offset a list takes: what the databases' `OFFSET` (a signed 64-bit
/// integer) holds. Beyond it the API answers 400 (`page.offset`).
pub const MAX_OFFSET: u64 = i64::MAX as u64;

/// The `q` search text as `read_search_text` reads it: after `trim`, only digits and the
/// separators ` `, `.`, `-`, NBSP, nine or more of them, are an ID, which must then be valid;
/// anything else is name words and a year. The pattern takes: a character other than a
/// digit, separator or white space; white space other than a separator inside the text; at
/// most eight digits; or a valid personal ID (written without separators).
fn q_schema() -> Object {
    let id = dancu_domain::openapi::personal_id_pattern();
    let id = id.trim_start_matches('^').trim_end_matches('$');
    let ws = super::schema::WHITE_SPACE;
    // White space that is not a separator.
    let ws_inner = "\\u0009-\\u000D\\u0085\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!(
            "[^0-9.\\-{ws}]|[^{ws}][\\s\\S]*[{ws_inner}][\\s\\S]*[^{ws}]|^[^0-9]*(?:[0-9][^0-9]*){{0,8}}$|^[{ws}]*{id}[{ws}]*$"
        )))
        .description(Some(
            "A personal ID (12 digits, spaces, dots or dashes allowed) or name words in any \
             order, each possibly cut short, with a birth year among them; marks optional",
        ))
        .build()
}

fn commune_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9]{5}$"))
        .description(Some("2025 commune code (5 digits) from the official list"))
        .build()
}

fn birth_date_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(dancu_domain::openapi::date_pattern_any()))
        .description(Some("`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `MM/YYYY` or `DD/MM/YYYY`"))
        .build()
}

#[derive(Deserialize, IntoParams, Default, Clone)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A personal ID (12 digits) or the start of a name, marks optional.
    #[param(schema_with = q_schema)]
    pub q: Option<String>,
    /// The start of a name, marks optional.
    pub name: Option<String>,
    #[param(minimum = -2147483648, maximum = 2147483647)]
    pub birth_year: Option<i32>,
    /// `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `MM/YYYY` or `DD/MM/YYYY`.
    #[param(schema_with = birth_date_schema)]
    pub birth_date: Option<String>,
    /// 2025 commune code (5 digits).
    #[param(schema_with = commune_schema)]
    pub commune: Option<String>,
    /// Household number.
    pub household: Option<String>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// 0 to 2⁶³−1, default 0.
    #[param(minimum = 0, maximum = 9223372036854775807_u64, default = 0)]
    pub offset: Option<u64>,
    /// Why the officer searches (recorded in the access log); or the `X-Purpose` header.
    pub purpose: Option<String>,
    /// Page language (web pages only): `vi` or `en`.
    #[param(pattern = "^(?:vi|en)$")]
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
            offset: page_offset(self.offset).unwrap_or_else(|e| {
                errs.extend(e.violations);
                0
            }),
            ..Default::default()
        };
        let nonempty =
            |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        if let Some(text) = nonempty(&self.q) {
            // An ID with separators, or name words in any order with a birth year among them.
            let read = dancu_domain::read_search_text(&text);
            match read.digits {
                Some(d) => match d.parse::<PersonalId>() {
                    Ok(id) => q.personal_id = Some(id),
                    Err(v) => errs.push(v.at("q")),
                },
                None => {
                    q.name_words = read.words;
                    q.birth_year = read.birth_year;
                }
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
        q.birth_year = self.birth_year.or(q.birth_year);
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
#[utoipa::path(get, path = "/api/v1/citizens", operation_id = "search_citizens", params(SearchParams), security(("bearer" = [])), tag = "citizens",
    responses((status = 200, body = Page<CitizenSummary>, description = "Page of citizen summaries",
        links(("ReadCitizen" = (operation_id = "read_citizen", parameters(("id" = "$response.body#/items/0/personal_id")))), ("UpdateCitizen" = (operation_id = "update_citizen", parameters(("id" = "$response.body#/items/0/personal_id")))), ("CitizenHistory" = (operation_id = "citizen_history", parameters(("id" = "$response.body#/items/0/personal_id")))), ("CitizenAccessLog" = (operation_id = "citizen_access_log", parameters(("id" = "$response.body#/items/0/personal_id")))), ("CitizenCards" = (operation_id = "citizen_cards", parameters(("id" = "$response.body#/items/0/personal_id")))), ("ConfirmCmnd" = (operation_id = "confirm_cmnd", parameters(("id" = "$response.body#/items/0/personal_id")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn search(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> ApiResult<Json<Page<CitizenSummary>>> {
    let Query(params) = params?;
    page_offset(params.offset)?;
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

/// A list's offset: 0 when not given, else at most [`MAX_OFFSET`]; beyond, 400 naming
/// `offset` and its rule (`page.offset`).
pub fn page_offset(offset: Option<u64>) -> Result<u64, ApiError> {
    match offset.unwrap_or(0) {
        o if o <= MAX_OFFSET => Ok(o),
        _ => Err(ApiError::bad_query(Violation::new(
            "offset",
            "page.offset",
            format!("offset phải từ 0 đến {MAX_OFFSET}"),
            format!("offset must be 0 to {MAX_OFFSET}"),
        ))),
    }
}

pub fn parse_id(raw: &str) -> Result<PersonalId, ApiError> {
    raw.parse::<PersonalId>().map_err(|v| ApiError::invalid(vec![v]))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurposeParam {
    /// Why the officer reads the record (recorded in the access log); or the `X-Purpose`
    /// header.
    pub purpose: Option<String>,
}

/// Reads one citizen. Answers 404 alike for a missing record and one outside the
/// caller's scope.
#[utoipa::path(get, path = "/api/v1/citizens/{id}", operation_id = "read_citizen", params(("id" = inline(PersonalId), Path), PurposeParam),
    security(("bearer" = [])), tag = "citizens",
    responses((status = 200, body = StoredCitizen),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn read(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pp): ApiQuery<PurposeParam>,
) -> ApiResult<Json<StoredCitizen>> {
    let id = parse_id(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    Ok(Json(s.registry.read_citizen(&access, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCitizen {
    /// The record; field formats in docs/CSV.md.
    pub citizen: CitizenDraft,
    /// Why the record is created (kept in the history): not blank, at most 500 characters.
    #[schema(schema_with = super::schema::reason)]
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCitizen {
    /// The record; its personal ID is the one in the path.
    pub citizen: CitizenDraft,
    /// The version the change was made from (optimistic locking).
    #[schema(value_type = i64)]
    pub expected_version: Version,
    /// Why the record changes (kept in the history): not blank, at most 500 characters.
    #[schema(schema_with = super::schema::reason)]
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

/// Creates a citizen record in the caller's scope. A record that may already exist
/// elsewhere is referred for review (202) instead of created.
#[utoipa::path(post, path = "/api/v1/citizens", operation_id = "create_citizen", request_body = CreateCitizen, security(("bearer" = [])), tag = "citizens",
    responses((status = 201, body = StoredCitizen,
        links(("ReadCitizen" = (operation_id = "read_citizen", parameters(("id" = "$response.body#/citizen/personal_id")))), ("UpdateCitizen" = (operation_id = "update_citizen", parameters(("id" = "$response.body#/citizen/personal_id")))), ("CitizenHistory" = (operation_id = "citizen_history", parameters(("id" = "$response.body#/citizen/personal_id")))), ("CitizenAccessLog" = (operation_id = "citizen_access_log", parameters(("id" = "$response.body#/citizen/personal_id")))), ("CitizenCards" = (operation_id = "citizen_cards", parameters(("id" = "$response.body#/citizen/personal_id")))), ("ConfirmCmnd" = (operation_id = "confirm_cmnd", parameters(("id" = "$response.body#/citizen/personal_id")))))),
        (status = 202, body = ErrorBody, description = "Referred for review (`referred_for_review`); no record was created"),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 409, response = error::Conflict),
        (status = 413, response = error::PayloadTooLarge), (status = 415, response = error::UnsupportedMediaType),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
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
#[utoipa::path(put, path = "/api/v1/citizens/{id}", operation_id = "update_citizen", request_body = UpdateCitizen, params(("id" = inline(PersonalId), Path)),
    security(("bearer" = [])), tag = "citizens",
    responses((status = 200, body = StoredCitizen),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn update(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
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
    Ok(Json(s.registry.update_citizen(&access, &c, req.expected_version.0, &reason).await?))
}

/// Earlier versions of a citizen record, newest first.
#[utoipa::path(get, path = "/api/v1/citizens/{id}/history", operation_id = "citizen_history", params(("id" = inline(PersonalId), Path), PurposeParam),
    security(("bearer" = [])), tag = "citizens",
    responses((status = 200, body = Vec<CitizenVersion>),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn history(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pp): ApiQuery<PurposeParam>,
) -> ApiResult<Json<Vec<CitizenVersion>>> {
    let id = parse_id(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    Ok(Json(s.registry.citizen_history(&access, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1–100, default 50 (a value beyond is taken as the nearest bound).
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<u32>,
    /// 0 to 2⁶³−1, default 0.
    #[param(minimum = 0, maximum = 9223372036854775807_u64, default = 0)]
    pub offset: Option<u64>,
}

/// Who accessed this record, when and why (from the audit log), newest first.
#[utoipa::path(get, path = "/api/v1/citizens/{id}/access-log", operation_id = "citizen_access_log", params(("id" = inline(PersonalId), Path), PageParams),
    security(("bearer" = [])), tag = "citizens",
    responses((status = 200, body = Page<AuditEntry>),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn access_log(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pp): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    let id = parse_id(&id)?;
    let offset = page_offset(pp.offset)?;
    let access = p.access(&purpose(&headers, None));
    let limit = pp.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    Ok(Json(s.registry.audit_of(&access, id.as_str(), limit, offset).await?))
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
