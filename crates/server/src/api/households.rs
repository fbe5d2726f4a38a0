use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use dancu_domain::household::{validate_number, Member};
use dancu_domain::{Household, Relation, Violation};
use dancu_store::{HouseholdVersion, HouseholdView};

use super::citizens::{require_reason, PurposeParam};
use super::purpose;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    pub personal_id: String,
    /// head, spouse, child, parent, grandchild, grandparent, sibling, child_in_law, other
    pub relation: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdIn {
    pub number: String,
    pub members: Vec<MemberIn>,
    pub reason: String,
    /// On update: the version the change was made from; a household changed since answers
    /// 409 `version_mismatch` (optimistic locking). Ignored on create.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

fn to_household(h: &HouseholdIn) -> Result<Household, ApiError> {
    let mut errs = Vec::new();
    if let Err(v) = validate_number(&h.number) {
        errs.push(v.at("number"));
    }
    let mut members = Vec::new();
    for (i, m) in h.members.iter().enumerate() {
        let id = m
            .personal_id
            .parse()
            .map_err(|v: Violation| errs.push(v.at(format!("members[{i}].personal_id"))))
            .ok();
        let rel =
            Relation::parse(&m.relation).map_err(|v| errs.push(v.at(format!("members[{i}].relation")))).ok();
        if let (Some(personal_id), Some(relation)) = (id, rel) {
            members.push(Member { personal_id, relation });
        }
    }
    if !errs.is_empty() {
        return Err(ApiError::invalid(errs));
    }
    let hh = Household { number: h.number.clone(), members };
    hh.validate()?;
    Ok(hh)
}

/// Creates a household from citizens in the caller's scope: exactly one head.
#[utoipa::path(post, path = "/api/v1/households", request_body = HouseholdIn, security(("bearer" = [])),
    responses((status = 201, body = Object), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    body: Result<Json<HouseholdIn>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<HouseholdView>)> {
    let Json(req) = body?;
    let reason = require_reason(&req.reason)?;
    let h = to_household(&req)?;
    let access = p.access(&purpose(&headers, None));
    Ok((StatusCode::CREATED, Json(s.registry.create_household(&access, &h, &reason).await?)))
}

/// Replaces a household's members (split, change of head, …); history kept.
#[utoipa::path(put, path = "/api/v1/households/{number}", request_body = HouseholdIn, params(("number" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(number): Path<String>,
    body: Result<Json<HouseholdIn>, JsonRejection>,
) -> ApiResult<Json<HouseholdView>> {
    let Json(req) = body?;
    let reason = require_reason(&req.reason)?;
    let h = to_household(&req)?;
    if h.number != number {
        return Err(Violation::new(
            "number",
            "household.path_mismatch",
            "Mã hộ khác mã trên đường dẫn",
            "the number differs from the path",
        )
        .into());
    }
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.update_household(&access, &h, req.expected_version, &reason).await?))
}

/// A household with its members.
#[utoipa::path(get, path = "/api/v1/households/{number}", params(("number" = String, Path), PurposeParam), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub async fn read(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(number): Path<String>,
    Query(pp): Query<PurposeParam>,
) -> ApiResult<Json<HouseholdView>> {
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    Ok(Json(s.registry.household(&access, &number).await?))
}

/// Earlier member lists of a household, newest first.
#[utoipa::path(get, path = "/api/v1/households/{number}/history", params(("number" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object)))]
pub async fn history(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> ApiResult<Json<Vec<HouseholdVersion>>> {
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.household_history(&access, &number).await?))
}
