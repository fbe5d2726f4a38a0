//! Registry deduplication for integrators (`/api/v1/dedup`): the candidate pairs in scope
//! with their evidence, the counts per commune, and the decisions (merge, reject, undo by an
//! administrator). The same audited registry paths as the `/dedup` page.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use dancu_domain::Violation;
use dancu_store::dedup::{DedupCount, Merge, PairView};
use dancu_store::Page;

use super::citizens::{page_limit, parse_id, require_reason};
use super::purpose;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CandidateParams {
    /// `open` (default), `merged` or `rejected`.
    pub status: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    /// Counts only: found / merged / rejected from this day (`YYYY-MM-DD`, Vietnam time).
    pub since: Option<String>,
}

/// Candidate pairs with either record in the caller's scope, strongest first. A record
/// outside the caller's scope is `null` (masked), and so is the evidence of that pair
/// (`decidable`: the caller covers both records).
#[utoipa::path(get, path = "/api/v1/dedup/candidates", params(CandidateParams), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 422, body = crate::error::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    q: Result<Query<CandidateParams>, QueryRejection>,
) -> ApiResult<Json<Page<PairView>>> {
    let Query(q) = q?;
    let status = q.status.as_deref().unwrap_or("open");
    if !["open", "merged", "rejected"].contains(&status) {
        return Err(
            Violation::new("status", "dedup.status", "Trạng thái không hợp lệ", "unknown status").into()
        );
    }
    let limit = page_limit(q.limit)?;
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.dedup_list(&access, Some(status), limit, q.offset.unwrap_or(0)).await?))
}

/// A `since` day (`YYYY-MM-DD`) as the instant it starts in Vietnam (UTC+7).
pub fn since_param(raw: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    let Some(d) = raw.filter(|x| !x.is_empty()) else { return Ok(None) };
    let day: chrono::NaiveDate = d.parse().map_err(|_| {
        ApiError::from(Violation::new(
            "since",
            "date.invalid",
            "Ngày không hợp lệ (YYYY-MM-DD)",
            "invalid date (YYYY-MM-DD)",
        ))
    })?;
    Ok(Some(day.and_hms_opt(0, 0, 0).unwrap().and_utc() - chrono::Duration::hours(7)))
}

/// Found / merged / rejected (since `since`) and remaining pairs per commune in scope.
#[utoipa::path(get, path = "/api/v1/dedup/counts", params(CandidateParams), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 422, body = crate::error::ErrorBody)))]
pub async fn counts(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    q: Result<Query<CandidateParams>, QueryRejection>,
) -> ApiResult<Json<Vec<DedupCount>>> {
    let Query(q) = q?;
    let since = since_param(q.since.as_deref())?;
    Ok(Json(s.registry.dedup_counts(&p.access(&purpose(&headers, None)), since).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `merge`, `reject` or `undo` (administrators).
    pub decision: String,
    /// For `merge`: the personal ID to keep (one of the pair).
    #[serde(default)]
    pub keep: Option<String>,
    /// For `reject`: why the two records are different people.
    #[serde(default)]
    pub reason: String,
}

/// Decides a pair whose two records are both in the caller's scope. Answers the pair after
/// the decision, and for a merge or an undo the merge record (what moved).
#[utoipa::path(post, path = "/api/v1/dedup/candidates/{id}/decision", params(("id" = i64, Path)), request_body = DecisionRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn decide(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Result<Json<DecisionRequest>, JsonRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Json(b) = body?;
    let access = p.access(&purpose(&headers, None));
    let r = &s.registry;
    let merge: Option<Merge> = match b.decision.as_str() {
        "merge" => {
            let keep = parse_id(b.keep.as_deref().unwrap_or_default())?;
            Some(r.dedup_merge(&access, id, &keep).await?)
        }
        "reject" => {
            r.dedup_reject(&access, id, &require_reason(&b.reason)?).await?;
            None
        }
        "undo" => {
            p.require_admin()?;
            Some(r.dedup_undo(&access, id).await?)
        }
        _ => {
            return Err(Violation::new(
                "decision",
                "dedup.decision",
                "Quyết định phải là merge, reject hoặc undo",
                "decision must be merge, reject or undo",
            )
            .into())
        }
    };
    let pair = r.dedup_candidate(&access, id).await?;
    Ok(Json(serde_json::json!({ "pair": pair, "merge": merge })))
}
