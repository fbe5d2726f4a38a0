//! Residence records (`/api/v1/citizens/{id}/residences`, `/api/v1/residences`): a person's
//! records, and the records of one kind current in the caller's scope (the stays in a
//! commune, say). Residence procedures themselves are applications (`applications.rs`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use dancu_domain::residence::ResidenceKind;
use dancu_domain::PersonalId;
use dancu_store::residences::Residence;
use dancu_store::Page;

use super::citizens::{page_limit, page_offset, parse_id, PurposeParam};
use super::{purpose, ApiPath, ApiQuery};
use crate::auth::Principal;
use crate::error::{self, ApiResult};
use crate::AppState;

/// A person's residence records (permanent, temporary, absence, stay), current first.
#[utoipa::path(get, path = "/api/v1/citizens/{id}/residences", operation_id = "citizen_residences", params(("id" = inline(PersonalId), Path), PurposeParam),
    security(("bearer" = [])), tag = "residence",
    responses((status = 200, body = Vec<Residence>),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn of_citizen(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pp): ApiQuery<PurposeParam>,
) -> ApiResult<Json<Vec<Residence>>> {
    let id = parse_id(&id)?;
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    Ok(Json(s.registry.residences(&access, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CurrentParams {
    /// `stay` (default), `absence`, `temporary` or `permanent`.
    #[param(value_type = Option<ResidenceKind>)]
    pub kind: Option<ResidenceKind>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<u32>,
    /// 0 to 2⁶³−1, default 0.
    #[param(minimum = 0, maximum = 9223372036854775807_u64, default = 0)]
    pub offset: Option<u64>,
    /// Why the officer lists (recorded in the access log).
    pub purpose: Option<String>,
}

/// The records of one kind current in the caller's scope, newest first: the people staying
/// in the commune (stay notifications), those declared absent, those registered temporarily.
#[utoipa::path(get, path = "/api/v1/residences", operation_id = "current_residences", params(CurrentParams),
    security(("bearer" = [])), tag = "residence",
    responses((status = 200, body = Page<Residence>),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn current(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    params: Result<Query<CurrentParams>, QueryRejection>,
) -> ApiResult<Json<Page<Residence>>> {
    let Query(q) = params?;
    let offset = page_offset(q.offset)?;
    let limit = page_limit(q.limit)?;
    let access = p.access(&purpose(&headers, q.purpose.as_deref()));
    let kind = q.kind.unwrap_or(ResidenceKind::Stay);
    Ok(Json(s.registry.current_residences(&access, kind, limit, offset).await?))
}
