use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use dancu_domain::household::{validate_number, Member};
use dancu_domain::{Household, PersonalId, Relation, Violation};
use dancu_store::{HouseholdVersion, HouseholdView};

use super::citizens::{require_reason, PurposeParam};
use super::{purpose, ApiPath, ApiQuery, Version};
use crate::auth::Principal;
use crate::error::{self, ApiError, ApiResult};
use crate::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    #[schema(value_type = PersonalId)]
    pub personal_id: String,
    /// head, spouse, child, parent, grandchild, grandparent, sibling, child_in_law, other
    #[schema(value_type = Relation)]
    pub relation: String,
}

/// A household as submitted: exactly one head, no member twice.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdIn {
    pub number: String,
    pub members: Vec<MemberIn>,
    pub reason: String,
    /// On update: the version the change was made from; a household changed since answers
    /// 409 `version_mismatch` (optimistic locking). Ignored on create.
    #[serde(default)]
    pub expected_version: Option<Version>,
}

impl utoipa::PartialSchema for HouseholdIn {
    fn schema() -> RefOr<Schema> {
        use super::schema::*;
        use utoipa::openapi::schema::ArrayBuilder;
        let mut head = variant("The head", vec![("relation", constant("head"))], &["relation"]);
        head.additional_properties = None;
        let mut members = ArrayBuilder::new()
            .items(MemberIn::schema())
            .min_items(Some(1))
            .description(Some("The members: exactly one `head`, each personal ID once"))
            .build();
        // JSON Schema 2020-12 keywords utoipa has no builder for: exactly one head.
        let ext = members.extensions.get_or_insert_with(Default::default);
        ext.insert("contains".into(), serde_json::to_value(&head).expect("a schema serialises"));
        ext.insert("minContains".into(), 1.into());
        ext.insert("maxContains".into(), 1.into());
        variant(
            "A household as submitted",
            vec![
                ("number", pattern("^[A-Za-z0-9]{1,20}$")),
                ("members", members.into()),
                ("reason", reason()),
                ("expected_version", int64()),
            ],
            &["number", "members", "reason"],
        )
        .into()
    }
}

impl ToSchema for HouseholdIn {}

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
#[utoipa::path(post, path = "/api/v1/households", operation_id = "create_household", request_body = HouseholdIn, security(("bearer" = [])), tag = "households",
    responses((status = 201, body = HouseholdView, links(("ReadHousehold" = (operation_id = "read_household", parameters(("number" = "$response.body#/number")))), ("UpdateHousehold" = (operation_id = "update_household", parameters(("number" = "$response.body#/number")))), ("HouseholdHistory" = (operation_id = "household_history", parameters(("number" = "$response.body#/number")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
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
#[utoipa::path(put, path = "/api/v1/households/{number}", operation_id = "update_household", request_body = HouseholdIn,
    params(("number" = String, Path, pattern = "^[A-Za-z0-9]{1,20}$", description = "Household number; the same as in the body")),
    security(("bearer" = [])), tag = "households",
    responses((status = 200, body = HouseholdView),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn update(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(number): ApiPath<String>,
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
    Ok(Json(s.registry.update_household(&access, &h, req.expected_version.map(|v| v.0), &reason).await?))
}

/// A household with its members.
#[utoipa::path(get, path = "/api/v1/households/{number}", operation_id = "read_household",
    params(("number" = String, Path, pattern = "^[A-Za-z0-9]{1,20}$", description = "Household number"), PurposeParam),
    security(("bearer" = [])), tag = "households",
    responses((status = 200, body = HouseholdView),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound), (status = 503, response = error::Unavailable)))]
pub async fn read(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(number): ApiPath<String>,
    ApiQuery(pp): ApiQuery<PurposeParam>,
) -> ApiResult<Json<HouseholdView>> {
    let access = p.access(&purpose(&headers, pp.purpose.as_deref()));
    Ok(Json(s.registry.household(&access, &number).await?))
}

/// Earlier member lists of a household, newest first.
#[utoipa::path(get, path = "/api/v1/households/{number}/history", operation_id = "household_history",
    params(("number" = String, Path, pattern = "^[A-Za-z0-9]{1,20}$", description = "Household number")),
    security(("bearer" = [])), tag = "households",
    responses((status = 200, body = Vec<HouseholdVersion>),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound), (status = 503, response = error::Unavailable)))]
pub async fn history(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(number): ApiPath<String>,
) -> ApiResult<Json<Vec<HouseholdVersion>>> {
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.household_history(&access, &number).await?))
}
