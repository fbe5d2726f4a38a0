use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::ToSchema;

use dancu_domain::personal_id::IdExplanation;
use dancu_domain::units::Conversion;
use dancu_domain::{admin_units, PersonalId, Sex, UnitList, UnitRef, Violation};

use super::ApiPath;
use crate::auth::Principal;
use crate::error::{self, ApiError, ApiResult};
use crate::AppState;

/// The legacy province codes (2 digits) a personal ID's prefix can carry.
fn legacy_province_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(admin_units().provinces_legacy.iter().map(|p| p.code.clone())))
        .description(Some("2-digit legacy province code of the birth registration (e.g. `01`)"))
        .build()
}

fn birth_year_schema() -> Object {
    let year = chrono::Datelike::year(&chrono::Utc::now());
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int32)))
        .minimum(Some(1900))
        .maximum(Some(year))
        .build()
}

fn sex_code_schema() -> Object {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["M", "F"])).build()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocateId {
    /// 2-digit legacy province code of the birth registration (e.g. `01`).
    #[schema(schema_with = legacy_province_schema)]
    pub province: String,
    /// `M` or `F`
    #[schema(schema_with = sex_code_schema)]
    pub sex: String,
    /// 1900 to this year.
    #[schema(schema_with = birth_year_schema)]
    #[serde(deserialize_with = "super::whole::i32")]
    pub birth_year: i32,
}

#[derive(Serialize, ToSchema)]
pub struct AllocatedId {
    pub personal_id: PersonalId,
}

/// Allocates a personal ID for a newborn: unique, never reused. The caller's scope must
/// include a 2025 province that took in the legacy province.
#[utoipa::path(post, path = "/api/v1/personal-ids", operation_id = "allocate_personal_id", request_body = AllocateId, security(("bearer" = [])), tag = "tools",
    responses((status = 201, body = AllocatedId, links(("Explain" = (operation_id = "explain_personal_id", parameters(("id" = "$response.body#/personal_id")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 409, response = error::Conflict),
        (status = 413, response = error::PayloadTooLarge), (status = 415, response = error::UnsupportedMediaType),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn allocate_id(
    State(s): State<AppState>,
    p: Principal,
    body: Result<Json<AllocateId>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<AllocatedId>)> {
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
    Ok((StatusCode::CREATED, Json(AllocatedId { personal_id: id })))
}

/// Explains a personal ID number's structure (no registry look-up, no personal data).
#[utoipa::path(get, path = "/api/v1/personal-ids/{id}/explain", operation_id = "explain_personal_id", params(("id" = inline(PersonalId), Path)),
    security(("bearer" = [])), tag = "tools",
    responses((status = 200, body = IdExplanation),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 422, response = error::Unprocessable)))]
pub async fn explain_id(_p: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<Json<IdExplanation>> {
    let id: PersonalId = id.parse().map_err(|v| ApiError::invalid(vec![v]))?;
    Ok(Json(id.explain()))
}

#[derive(Serialize, ToSchema)]
pub struct UnitOut {
    #[schema(value_type = UnitRef)]
    pub unit: String,
    pub name: String,
    /// The district (legacy units only).
    pub district: Option<String>,
    #[schema(pattern = "^[0-9]{2}$")]
    pub province_code: String,
    pub province_name: String,
    /// For a legacy unit: the 2025 unit(s) it became; for a 2025 unit, itself.
    #[schema(value_type = Vec<UnitRef>)]
    pub now: Vec<String>,
}

/// Describes a unit (`2025:00004` or `legacy:00004`) and, for a legacy one, the 2025
/// unit(s) it became.
#[utoipa::path(get, path = "/api/v1/units/{unit}", operation_id = "describe_unit", params(("unit" = inline(UnitRef), Path)), security(("bearer" = [])), tag = "tools",
    responses((status = 200, body = UnitOut),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 422, response = error::Unprocessable)))]
pub async fn unit(_p: Principal, ApiPath(unit): ApiPath<String>) -> ApiResult<Json<UnitOut>> {
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

#[derive(Serialize, ToSchema)]
pub struct AuditVerification {
    /// Whether every entry's keyed hash follows from the one before.
    pub intact: bool,
    /// The first entry whose hash does not, if any.
    pub first_broken_seq: Option<i64>,
}

/// Recomputes the audit hash chain (administrators only).
#[utoipa::path(get, path = "/api/v1/audit/verify", operation_id = "verify_audit", security(("bearer" = [])), tag = "tools",
    responses((status = 200, body = AuditVerification),
        (status = 401, response = error::Unauthorized), (status = 403, response = error::Forbidden),
        (status = 503, response = error::Unavailable)))]
pub async fn verify_audit(State(s): State<AppState>, p: Principal) -> ApiResult<Json<AuditVerification>> {
    p.require_admin()?;
    let broken = s.db.verify_audit_chain().await?.broken.map(|b| b.seq);
    Ok(Json(AuditVerification { intact: broken.is_none(), first_broken_seq: broken }))
}

/// The benchmark's constant answer: a made-up citizen summary.
#[derive(Serialize, ToSchema)]
pub struct BenchConstant {
    pub personal_id: PersonalId,
    pub full_name: &'static str,
    pub status: dancu_domain::LifeStatus,
}

/// A constant answer behind the same authentication, used by the benchmark as the
/// baseline for the citizen look-up. Served (and documented) only with `bench_endpoint`.
#[utoipa::path(get, path = "/api/v1/bench/constant", operation_id = "bench_constant", security(("bearer" = [])), tag = "tools",
    responses((status = 200, body = BenchConstant), (status = 401, response = error::Unauthorized)))]
pub async fn constant(_p: Principal) -> Json<BenchConstant> {
    Json(BenchConstant {
        personal_id: "001090000001".parse().expect("a valid personal ID"),
        full_name: "Nguyễn Văn A",
        status: dancu_domain::LifeStatus::Alive,
    })
}
