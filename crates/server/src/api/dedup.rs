//! Registry deduplication for integrators (`/api/v1/dedup`): the candidate pairs in scope
//! with their evidence, the counts per commune, and the decisions (merge, reject, undo by an
//! administrator). The same audited registry paths as the `/dedup` page.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, ToSchema};

use dancu_domain::Violation;
use dancu_store::dedup::{DedupCount, Merge, PairView};
use dancu_store::Page;

use super::citizens::{page_limit, page_offset, parse_id, require_reason};
use super::{purpose, ApiPath};
use crate::auth::Principal;
use crate::error::{self, ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CandidateParams {
    /// `open` (default), `merged` or `rejected`.
    #[param(schema_with = dancu_store::openapi::pair_status)]
    pub status: Option<String>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// 0 to 2⁶³−1, default 0.
    #[param(minimum = 0, maximum = 9223372036854775807_u64, default = 0)]
    pub offset: Option<u64>,
    /// Counts only: found / merged / rejected from this day (`YYYY-MM-DD`, Vietnam time).
    #[param(value_type = Option<String>, format = Date)]
    pub since: Option<String>,
}

/// Candidate pairs with either record in the caller's scope, strongest first. A record
/// outside the caller's scope is `null` (masked), and so is the evidence of that pair
/// (`decidable`: the caller covers both records).
#[utoipa::path(get, path = "/api/v1/dedup/candidates", operation_id = "list_dedup_candidates", params(CandidateParams), security(("bearer" = [])), tag = "dedup",
    responses((status = 200, body = Page<PairView>, links(("Decide" = (operation_id = "decide_dedup_candidate", parameters(("id" = "$response.body#/items/0/id")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    q: Result<Query<CandidateParams>, QueryRejection>,
) -> ApiResult<Json<Page<PairView>>> {
    let Query(q) = q?;
    let offset = page_offset(q.offset)?;
    let status = q.status.as_deref().unwrap_or("open");
    if !["open", "merged", "rejected"].contains(&status) {
        return Err(
            Violation::new("status", "dedup.status", "Trạng thái không hợp lệ", "unknown status").into()
        );
    }
    let limit = page_limit(q.limit)?;
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.dedup_list(&access, Some(status), limit, offset).await?))
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
#[utoipa::path(get, path = "/api/v1/dedup/counts", operation_id = "dedup_counts", params(CandidateParams), security(("bearer" = [])), tag = "dedup",
    responses((status = 200, body = Vec<DedupCount>),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
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

#[derive(Deserialize)]
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

impl utoipa::PartialSchema for DecisionRequest {
    fn schema() -> RefOr<Schema> {
        use super::schema::*;
        one_of(
            "A decision on a pair: `merge` keeping one personal ID of the pair, `reject` with a \
             reason, or `undo` a merge (administrators)",
            vec![
                variant(
                    "Merge: `keep` is the personal ID kept (one of the pair)",
                    vec![
                        ("decision", constant("merge")),
                        ("keep", personal_id()),
                        ("reason", string(Some(500))),
                    ],
                    &["decision", "keep"],
                ),
                variant(
                    "Reject: the two records are different people, for `reason`",
                    vec![("decision", constant("reject")), ("reason", reason())],
                    &["decision", "reason"],
                ),
                variant("Undo a merge (administrators)", vec![("decision", constant("undo"))], &["decision"]),
            ],
        )
    }
}

impl ToSchema for DecisionRequest {}

/// A decided pair, and for a merge or an undo the merge record (what moved).
#[derive(Serialize, ToSchema)]
pub struct DecisionOut {
    pub pair: PairView,
    pub merge: Option<Merge>,
}

/// Decides a pair whose two records are both in the caller's scope. Answers the pair after
/// the decision, and for a merge or an undo the merge record (what moved).
#[utoipa::path(post, path = "/api/v1/dedup/candidates/{id}/decision", operation_id = "decide_dedup_candidate", params(("id" = i64, Path, description = "Candidate pair id")),
    request_body = DecisionRequest, security(("bearer" = [])), tag = "dedup",
    responses((status = 200, body = DecisionOut),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn decide(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Result<Json<DecisionRequest>, JsonRejection>,
) -> ApiResult<Json<DecisionOut>> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
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
    Ok(Json(DecisionOut { pair, merge }))
}
