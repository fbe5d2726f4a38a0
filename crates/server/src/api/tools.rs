use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use dancu_domain::personal_id::IdExplanation;
use dancu_domain::units::Conversion;
use dancu_domain::{admin_units, PersonalId, Sex, UnitList, UnitRef, Violation};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocateId {
    /// 2-digit legacy province code of the birth registration (e.g. `01`).
    pub province: String,
    /// `M` or `F`
    pub sex: String,
    pub birth_year: i32,
}

/// Allocates a personal ID for a newborn: unique, never reused.
#[utoipa::path(post, path = "/api/v1/personal-ids", request_body = AllocateId, security(("bearer" = [])),
    responses((status = 201, body = Object), (status = 422, body = crate::error::ErrorBody)))]
pub async fn allocate_id(
    State(s): State<AppState>,
    p: Principal,
    body: Result<Json<AllocateId>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let Json(req) = body?;
    let mut errs = Vec::new();
    if !admin_units().is_legacy_province(&req.province) {
        errs.push(Violation::new(
            "province",
            "id.province",
            "Mã tỉnh không tồn tại",
            "unknown province code",
        ));
    }
    let sex = Sex::parse(&req.sex).map_err(|v| errs.push(v)).ok();
    let year = chrono::Datelike::year(&chrono::Utc::now());
    if !(1900..=year).contains(&req.birth_year) {
        errs.push(Violation::new(
            "birth_year",
            "id.birth_year",
            "Năm sinh không hợp lệ",
            "invalid birth year",
        ));
    }
    if !errs.is_empty() {
        return Err(ApiError::invalid(errs));
    }
    let a = p.access("cấp số định danh cá nhân cho trẻ mới sinh");
    let id = s.registry.allocate_personal_id(&a, &req.province, sex.unwrap(), req.birth_year).await?;
    Ok((StatusCode::CREATED, Json(json!({ "personal_id": id }))))
}

/// Explains a personal ID number's structure (no registry look-up, no personal data).
#[utoipa::path(get, path = "/api/v1/personal-ids/{id}/explain", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 422, body = crate::error::ErrorBody)))]
pub async fn explain_id(_p: Principal, Path(id): Path<String>) -> ApiResult<Json<IdExplanation>> {
    let id: PersonalId = id.parse().map_err(|v| ApiError::invalid(vec![v]))?;
    Ok(Json(id.explain()))
}

#[derive(Serialize, ToSchema)]
pub struct UnitOut {
    pub unit: String,
    pub name: String,
    pub district: Option<String>,
    pub province_code: String,
    pub province_name: String,
    /// For a legacy unit: the 2025 unit(s) it became.
    pub now: Vec<String>,
}

/// Describes a unit (`2025:00004` or `legacy:00004`) and, for a legacy one, the 2025
/// unit(s) it became.
#[utoipa::path(get, path = "/api/v1/units/{unit}", params(("unit" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = UnitOut), (status = 422, body = crate::error::ErrorBody)))]
pub async fn unit(_p: Principal, Path(unit): Path<String>) -> ApiResult<Json<UnitOut>> {
    let u: UnitRef = unit.parse().map_err(|v| ApiError::invalid(vec![v]))?;
    let info = u.describe();
    let now = match u.list {
        UnitList::V2025 => vec![u.to_string()],
        UnitList::Legacy => match admin_units().convert_legacy(u.code()) {
            Conversion::One(n) => vec![n.to_string()],
            Conversion::Split(v) => v.iter().map(|n| n.to_string()).collect(),
            Conversion::Unmapped => vec![],
        },
    };
    Ok(Json(UnitOut {
        unit: u.to_string(),
        name: info.name.into(),
        district: info.district.map(Into::into),
        province_code: info.province_code.into(),
        province_name: info.province_name.into(),
        now,
    }))
}

/// Recomputes the audit hash chain (administrators only).
#[utoipa::path(get, path = "/api/v1/audit/verify", security(("bearer" = [])), responses((status = 200, body = Object)))]
pub async fn verify_audit(State(s): State<AppState>, p: Principal) -> ApiResult<Json<serde_json::Value>> {
    p.require_admin()?;
    let broken = s.db.verify_audit_chain().await?.broken.map(|b| b.seq);
    Ok(Json(json!({ "intact": broken.is_none(), "first_broken_seq": broken })))
}

/// A constant answer behind the same authentication, used by the benchmark as the
/// baseline for the citizen look-up.
#[utoipa::path(get, path = "/api/v1/bench/constant", security(("bearer" = [])), responses((status = 200, body = Object)))]
pub async fn constant(_p: Principal) -> Json<serde_json::Value> {
    Json(json!({ "personal_id": "001090000001", "full_name": "Nguyễn Văn A", "status": "alive" }))
}
