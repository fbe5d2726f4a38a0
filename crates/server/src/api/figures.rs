//! Submitted figures (`/api/v1/figures`, issue 16 part 3): agencies' monthly figures on the
//! fixed forms (`services`, `outreach`; `dancu_tables::forms`). A unit's officers save and
//! submit them; the province's officers approve them or return them with a reason. Values
//! breaking a rule answer 422 with every violation, each naming `<row>.<column>` and its
//! rule (`figures.online_above_received`, `figures.negative`, `figures.rate_mismatch` …);
//! nothing is stored unless all hold. Out of scope answers 404 like missing.

use std::collections::BTreeMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use dancu_domain::Violation;
use dancu_store::figures::{FigureFilter, FigureState, FigureSubmission};
use dancu_store::registry::{FigureDraft, FigurePage};
use dancu_tables::forms::{self, Entry};
use dancu_tables::Value;

use super::citizens::{page_limit, page_offset};
use super::{purpose, ApiPath, ApiQuery, Version};
use crate::auth::Principal;
use crate::error::{self, ApiError, ApiResult};
use crate::AppState;

/// One month's figures of one unit on one form.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FiguresRequest {
    /// A 2025 commune code (5 digits) or province code (2 digits) in the caller's scope.
    #[schema(pattern = "^[0-9]{2}(?:[0-9]{3})?$")]
    pub unit: String,
    /// `YYYY-MM`, from 2020-01 to the current month (422 `figures.month` otherwise).
    #[schema(pattern = "^[0-9]{4}-(?:0[1-9]|1[0-2])$")]
    pub month: String,
    /// `services` or `outreach`.
    #[schema(pattern = "^(?:services|outreach)$")]
    pub form: String,
    /// Row code → column code → value: whole numbers ≥ 0 (a missing value is 0). On
    /// `services`, `online_pct` (optional, not stored) must equal online/received.
    #[schema(schema_with = values_schema)]
    pub values: BTreeMap<String, BTreeMap<String, f64>>,
    /// Send for review at once (else a draft).
    #[serde(default)]
    pub submit: bool,
}

/// `{row: {column: number ≥ 0}}`: which rows and columns exist depends on the form (the
/// `services` rows are the catalogue's, data/services.csv), and whether a value must be
/// whole on its column (`online_pct` may have decimals): both answer 422 with their rule.
fn values_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    let number = ObjectBuilder::new().schema_type(Type::Number).minimum(Some(0)).maximum(Some(1e15));
    let columns = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(number.build().into())));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(columns.build().into())))
        .build()
        .into()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FigureTransitionRequest {
    /// `submit` (the unit), `approve` or `return` (the province).
    #[schema(pattern = "^(?:submit|approve|return)$")]
    pub action: String,
    /// The version the caller saw (409 `figures.stale` if it changed).
    #[schema(value_type = i64)]
    pub version: Version,
    /// Why it is returned (required to return, at most 1000 characters).
    #[schema(max_length = 1000)]
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `draft`, `submitted`, `approved` or `returned`; every state when absent.
    #[param(pattern = "^(?:draft|submitted|approved|returned)$")]
    pub state: Option<String>,
    /// `services` or `outreach`.
    #[param(pattern = "^(?:services|outreach)$")]
    pub form: Option<String>,
    /// `YYYY-MM`.
    #[param(pattern = "^[0-9]{4}-(?:0[1-9]|1[0-2])$")]
    pub month: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<u32>,
    /// 0 to 2⁶³−1, default 0.
    #[param(minimum = 0, maximum = 9223372036854775807_u64, default = 0)]
    pub offset: Option<u64>,
    /// Page language (web pages only).
    #[param(pattern = "^(?:vi|en)$")]
    pub lang: Option<String>,
}

/// A page of submissions.
#[derive(Serialize, ToSchema)]
pub struct FigureList {
    pub items: Vec<FigureSubmission>,
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

/// The purpose recorded for figures work.
pub const FIGURES_PURPOSE: &str = "báo cáo Đề án 06: số liệu của đơn vị";

fn bad(field: &str, rule: &'static str, vi: String, en: String) -> ApiError {
    ApiError::bad_query(Violation::new(field, rule, vi, en))
}

/// Checked list filters.
pub fn list_filter(q: &ListParams) -> Result<FigureFilter, ApiError> {
    let some = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let state = match some(&q.state) {
        None => None,
        Some(s) => Some(FigureState::parse(&s).ok_or_else(|| {
            bad(
                "state",
                "figures.state",
                format!("Trạng thái \"{s}\" không hợp lệ"),
                format!("unknown state \"{s}\""),
            )
        })?),
    };
    let form = some(&q.form);
    if let Some(f) = &form {
        if forms::form(f).is_none() {
            return Err(bad(
                "form",
                "figures.form",
                format!("Không có biểu \"{f}\""),
                format!("no form \"{f}\""),
            ));
        }
    }
    let month = some(&q.month);
    if let Some(m) = &month {
        // Any month of the calendar (a future one lists nothing).
        let ok = m.len() == 7
            && m.as_bytes()[4] == b'-'
            && m[..4].bytes().all(|b| b.is_ascii_digit())
            && matches!(m[5..].parse::<u32>(), Ok(1..=12));
        if !ok {
            return Err(bad(
                "month",
                "figures.month",
                format!("Tháng \"{m}\" phải có dạng YYYY-MM"),
                format!("month \"{m}\" must be YYYY-MM"),
            ));
        }
    }
    Ok(FigureFilter {
        state,
        form,
        month,
        limit: page_limit(Some(q.limit.unwrap_or(50))).map_err(ApiError::bad_query)?,
        offset: page_offset(q.offset)?,
        ..Default::default()
    })
}

/// A JSON number as a typed cell (whole numbers as typed without decimals).
fn number(v: f64) -> Value {
    Value::Number { value: v, percent: false, decimals: if v.fract() == 0.0 { Some(0) } else { None } }
}

/// Checks the values against the form's rules; the draft to save when they hold.
pub fn draft_of(req: &FiguresRequest, source: &str) -> Result<FigureDraft, ApiError> {
    let form = forms::form(&req.form).ok_or_else(|| {
        ApiError::invalid(vec![Violation::new(
            "form",
            "figures.form",
            format!("Không có biểu \"{}\" (services, outreach)", req.form),
            format!("no form \"{}\" (services, outreach)", req.form),
        )])
    })?;
    let entries: Vec<Entry> = req
        .values
        .iter()
        .flat_map(|(row, cols)| {
            cols.iter().map(move |(col, v)| Entry {
                row: row.clone(),
                column: col.clone(),
                value: number(*v),
                place: format!("values.{row}.{col}"),
            })
        })
        .collect();
    let values = forms::validate(form, &entries, &[]).map_err(ApiError::invalid)?;
    Ok(FigureDraft {
        unit: req.unit.trim().to_string(),
        month: req.month.trim().to_string(),
        form: req.form.clone(),
        values,
        submit: req.submit,
        source: source.into(),
    })
}

/// Saves (or submits) a unit's figures for a month: a new submission, or a draft or
/// returned one replaced whole. 201 with the submission.
#[utoipa::path(post, path = "/api/v1/figures", operation_id = "save_figures", request_body = FiguresRequest,
    security(("bearer" = [])), tag = "figures",
    responses((status = 201, body = FigureSubmission, description = "Saved"),
        (status = 400, response = error::BadRequest), (status = 409, response = error::Conflict),
        (status = 413, response = error::PayloadTooLarge), (status = 415, response = error::UnsupportedMediaType),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn save(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Result<Json<FiguresRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<FigureSubmission>)> {
    let Json(req) = body?;
    let draft = draft_of(&req, "form")?;
    let access = p.access(&purpose(&headers, None));
    let saved = s.registry.save_figures(&access, &draft).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// The submissions of units in the caller's scope, newest month first.
#[utoipa::path(get, path = "/api/v1/figures", operation_id = "list_figures", params(ListParams),
    security(("bearer" = [])), tag = "figures",
    responses((status = 200, body = FigureList), (status = 400, response = error::BadRequest),
        (status = 503, response = error::Unavailable)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<FigureList>> {
    let f = list_filter(&q)?;
    let page = s.registry.list_figures(&p.access(&purpose(&headers, None)), &f).await?;
    Ok(Json(FigureList { items: page.items, total: page.total, limit: page.limit, offset: page.offset }))
}

pub fn parse_figures_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(ApiError::not_found)
}

/// One submission with its values and history.
#[utoipa::path(get, path = "/api/v1/figures/{id}", operation_id = "read_figures",
    params(("id" = i64, Path, description = "Submission id")), security(("bearer" = [])), tag = "figures",
    responses((status = 200, body = FigurePage), (status = 400, response = error::BadRequest),
        (status = 404, response = error::NotFound), (status = 503, response = error::Unavailable)))]
pub async fn read(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<FigurePage>> {
    let id = parse_figures_id(&id)?;
    Ok(Json(s.registry.figures_page(&p.access(&purpose(&headers, None)), id).await?))
}

/// Moves a submission: `submit` (a draft or returned one, by its unit), `approve` or
/// `return` with a reason (a submitted one, by the province; never one's own).
#[utoipa::path(post, path = "/api/v1/figures/{id}/transitions", operation_id = "move_figures",
    request_body = FigureTransitionRequest,
    params(("id" = i64, Path, description = "Submission id")), security(("bearer" = [])), tag = "figures",
    responses((status = 200, body = FigureSubmission), (status = 400, response = error::BadRequest),
        (status = 404, response = error::NotFound), (status = 409, response = error::Conflict),
        (status = 413, response = error::PayloadTooLarge), (status = 415, response = error::UnsupportedMediaType),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn transition(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Result<Json<FigureTransitionRequest>, JsonRejection>,
) -> ApiResult<Json<FigureSubmission>> {
    let id = parse_figures_id(&id)?;
    let Json(req) = body?;
    if req.reason.as_deref().is_some_and(|r| r.chars().count() > 1000) {
        return Err(ApiError::invalid(vec![Violation::new(
            "reason",
            "figures.reason_length",
            "Lý do dài quá 1000 ký tự",
            "the reason is longer than 1000 characters",
        )]));
    }
    let access = p.access(&purpose(&headers, None));
    Ok(Json(
        move_figures(&s, &access, id, &req.action, req.version.0, req.reason.as_deref().unwrap_or(""))
            .await?,
    ))
}

/// The one dispatch of a move, for the API and the pages.
pub async fn move_figures(
    s: &AppState,
    access: &dancu_store::registry::Access,
    id: i64,
    action: &str,
    version: i64,
    reason: &str,
) -> Result<FigureSubmission, ApiError> {
    Ok(match action {
        "submit" => s.registry.submit_figures(access, id, version).await?,
        "approve" => s.registry.approve_figures(access, id, version).await?,
        "return" => s.registry.return_figures(access, id, version, reason).await?,
        other => {
            return Err(ApiError::invalid(vec![Violation::new(
                "action",
                "figures.action",
                format!("Thao tác \"{other}\" không hợp lệ (submit, approve, return)"),
                format!("unknown action \"{other}\" (submit, approve, return)"),
            )]))
        }
    })
}
