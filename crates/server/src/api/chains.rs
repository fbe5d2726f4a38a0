//! The linked procedures' partner API (issue 15, parts 1 and 2; docs/CHAINS.md). A
//! civil-status partner (Justice) with the `civil_registration` operation and the
//! `partner:civil` scope sends births (`POST /api/v1/partner/births`) and deaths
//! (`POST /api/v1/partner/deaths`), each keyed by its registration number, and reads a
//! chain's state (`GET /api/v1/partner/births/{registration_no}`, `…/deaths/…`). A birth's
//! answer carries the child's personal ID: it is issued before the answer. The same number
//! again answers with the same chain (200 instead of 201), never a second child. Auth,
//! purpose, rate limits, audit and the refusal codes are the other partner calls' (`admit`).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dancu_store::chains::{BirthRegistration, ChainKind, ChainStep, DeathRegistration};
use dancu_store::partners::Operation;
use dancu_store::registry::{ChainView, RegistryError};
use dancu_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::partner::{admitted, count, purposed, registry_refusal, Admitted, BodyRefusals, PartnerRefusals};
use crate::error::{self, ApiError};
use crate::oidc::bearer::ClientToken;
use crate::AppState;

/// `POST /api/v1/partner/births`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BirthRequest {
    /// Why the partner sends it (recorded).
    #[schema(min_length = 3, max_length = 200)]
    pub purpose: String,
    /// Justice's registration number: the idempotency key.
    #[schema(pattern = "^[A-Za-z0-9/.-]{1,40}$", example = "KS-2026/000123")]
    pub registration_no: String,
    #[schema(max_length = 50)]
    pub family_name: String,
    #[serde(default)]
    #[schema(max_length = 50)]
    pub middle_name: String,
    #[schema(max_length = 50)]
    pub given_name: String,
    /// `Nam`/`Nữ` or `M`/`F`.
    pub sex: String,
    /// `YYYY-MM-DD` or `DD/MM/YYYY`, a full date.
    pub birth_date: String,
    /// The place of registration: `2025:NNNNN` or `legacy:NNNNN`.
    #[schema(pattern = "^(2025|legacy):[0-9]{5}$", example = "2025:00004")]
    pub birth_place: String,
    #[serde(default)]
    #[schema(pattern = "^([0-9]{12})?$")]
    pub father_id: String,
    #[serde(default)]
    #[schema(pattern = "^([0-9]{12})?$")]
    pub mother_id: String,
    /// The father's or mother's personal ID: the household the child joins, whose
    /// permanent residence the child's follows.
    #[schema(pattern = "^[0-9]{12}$")]
    pub household_of: String,
    /// The ID's 2-digit province prefix (legacy code); by default from `birth_place`.
    #[serde(default)]
    #[schema(pattern = "^([0-9]{2})?$")]
    pub id_province: String,
}

/// `POST /api/v1/partner/deaths`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeathRequest {
    #[schema(min_length = 3, max_length = 200)]
    pub purpose: String,
    #[schema(pattern = "^[A-Za-z0-9/.-]{1,40}$", example = "KT-2026/000045")]
    pub registration_no: String,
    #[schema(pattern = "^[0-9]{12}$")]
    pub personal_id: String,
    /// `YYYY-MM-DD`, `YYYY-MM`, `YYYY` or `DD/MM/YYYY`.
    pub death_date: String,
    /// The place of registration: `2025:NNNNN` or `legacy:NNNNN`.
    #[schema(pattern = "^(2025|legacy):[0-9]{5}$")]
    pub death_place: String,
}

/// Why the current step fails (it is retried with back-off and shown to officers).
#[derive(Debug, Serialize, ToSchema)]
pub struct StepFailure {
    /// The step that fails.
    pub step: String,
    /// The registration's field at fault (`household_of`, `personal_id`, …).
    pub field: String,
    /// The rule (`chain.parent_not_found`, `chain.household_missing`,
    /// `chain.parent_no_permanent_residence`, `chain.person_not_found`, …).
    pub rule: String,
    pub message: String,
}

purposed!(BirthRequest, DeathRequest, ChainParams);

/// A chain's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainResponse {
    pub kind: ChainKind,
    pub registration_no: String,
    /// The child's personal ID (issued in the first step), or the deceased's.
    #[schema(pattern = "^[0-9]{12}$")]
    pub personal_id: Option<String>,
    /// The visible state: the last step done (birth: `received`, `id_issued`, `registered`,
    /// `residence_registered`, `insurance_notified`; death: `received`, `deceased`,
    /// `residence_ended`, `eid_closed`, `partners_notified`), `failed` while a step fails,
    /// `resolved` when an officer closed it.
    pub state: String,
    /// The last step done.
    pub step: String,
    /// `running`, `done` or `resolved`.
    pub status: String,
    pub error: Option<StepFailure>,
    /// Failed attempts so far.
    pub attempts: i64,
    /// When the failing step is tried again.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The history, oldest first.
    pub steps: Vec<ChainStep>,
}

impl From<ChainView> for ChainResponse {
    fn from(v: ChainView) -> Self {
        let c = v.chain;
        ChainResponse {
            state: c.state().to_string(),
            next_attempt_at: c.error.as_ref().map(|_| c.next_at),
            error: c.error.map(|e| StepFailure {
                step: e.step,
                field: e.field,
                rule: e.rule,
                message: e.message,
            }),
            kind: c.kind,
            registration_no: c.registration_no,
            personal_id: c.personal_id,
            step: c.step,
            status: c.status,
            attempts: c.attempts,
            received_at: c.received_at,
            updated_at: c.updated_at,
            steps: v.steps,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChainParams {
    /// Why the partner reads (recorded).
    #[param(min_length = 3, max_length = 200)]
    pub purpose: Option<String>,
}

/// A registration's answer: 201 for a new chain, 200 for the same number again.
fn answer(
    s: &AppState,
    client_id: &str,
    purpose: &str,
    r: Result<(ChainView, bool), RegistryError>,
) -> Response {
    let op = Operation::CivilRegistration;
    match r {
        Ok((v, created)) => {
            count(s, client_id, op, purpose, &[(if created { "found" } else { "match" }, 1)]);
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(ChainResponse::from(v))).into_response()
        }
        Err(RegistryError::Store(StoreError::Invalid(vs))) => {
            count(s, client_id, op, purpose, &[("validation_failed", 1)]);
            ApiError::invalid(vs).into_response()
        }
        Err(RegistryError::Store(StoreError::Conflict(v))) if v.rule == "chain.registration_taken" => {
            count(s, client_id, op, purpose, &[("refused", 1)]);
            ApiError {
                status: StatusCode::CONFLICT,
                code: "registration_taken",
                message_vi: v.message_vi.clone(),
                message_en: v.message_en.clone(),
                violations: vec![v],
            }
            .into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Registers a birth: the child's personal ID is issued before the answer, then the record,
/// the household, the permanent residence and social insurance's feed event follow (a step
/// that fails is retried; the answer shows how far it got).
#[utoipa::path(post, path = "/api/v1/partner/births", operation_id = "partner_register_birth",
    request_body = BirthRequest, security(("bearer" = [])), tag = "partner",
    responses((status = 201, body = ChainResponse, description = "received; the child's personal ID issued"),
        (status = 200, body = ChainResponse, description = "the same registration number again: the same chain"),
        (status = 409, response = error::Conflict), PartnerRefusals, BodyRefusals))]
pub async fn register_birth(
    State(s): State<AppState>,
    token: ClientToken,
    body: Result<Json<BirthRequest>, JsonRejection>,
) -> Response {
    let op = Operation::CivilRegistration;
    let Admitted { input: b, partner: p, purpose } = match admitted(&s, &token, op, body).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let reg = BirthRegistration {
        registration_no: b.registration_no.trim().to_string(),
        family_name: b.family_name,
        middle_name: b.middle_name,
        given_name: b.given_name,
        sex: b.sex,
        birth_date: b.birth_date,
        birth_place: b.birth_place,
        father_id: b.father_id,
        mother_id: b.mother_id,
        household_of: b.household_of,
        id_province: b.id_province,
    };
    let r = s.registry.chain_submit_birth(&p, &purpose, &reg, &s.config.chains.timing).await;
    if let Err(e @ RegistryError::Forbidden(_)) = r {
        return registry_refusal(&s, &p, op, &purpose, e).into_response();
    }
    answer(&s, &p.client_id, &purpose, r)
}

/// Registers a death: the record marked deceased, the residence records ended, the eID
/// account locked and the valid card revoked, then social insurance and labour told through
/// the change feed.
#[utoipa::path(post, path = "/api/v1/partner/deaths", operation_id = "partner_register_death",
    request_body = DeathRequest, security(("bearer" = [])), tag = "partner",
    responses((status = 201, body = ChainResponse, description = "received"),
        (status = 200, body = ChainResponse, description = "the same registration number again: the same chain"),
        (status = 409, response = error::Conflict), PartnerRefusals, BodyRefusals))]
pub async fn register_death(
    State(s): State<AppState>,
    token: ClientToken,
    body: Result<Json<DeathRequest>, JsonRejection>,
) -> Response {
    let op = Operation::CivilRegistration;
    let Admitted { input: d, partner: p, purpose } = match admitted(&s, &token, op, body).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let reg = DeathRegistration {
        registration_no: d.registration_no.trim().to_string(),
        personal_id: d.personal_id,
        death_date: d.death_date,
        death_place: d.death_place,
    };
    let r = s.registry.chain_submit_death(&p, &purpose, &reg, &s.config.chains.timing).await;
    if let Err(e @ RegistryError::Forbidden(_)) = r {
        return registry_refusal(&s, &p, op, &purpose, e).into_response();
    }
    answer(&s, &p.client_id, &purpose, r)
}

async fn read(
    s: AppState,
    token: ClientToken,
    kind: ChainKind,
    no: String,
    q: Result<Query<ChainParams>, QueryRejection>,
) -> Response {
    let op = Operation::CivilRegistration;
    let Admitted { partner: p, purpose, .. } = match admitted(&s, &token, op, q).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match s.registry.chain_for_partner(&p, &purpose, kind, no.trim()).await {
        Ok(v) => {
            count(&s, &p.client_id, op, &purpose, &[("found", 1)]);
            Json(ChainResponse::from(v)).into_response()
        }
        Err(RegistryError::NotFound) => {
            count(&s, &p.client_id, op, &purpose, &[("not_found", 1)]);
            ApiError::not_found().into_response()
        }
        Err(e) => registry_refusal(&s, &p, op, &purpose, e).into_response(),
    }
}

/// A birth chain the partner sent, by registration number.
#[utoipa::path(get, path = "/api/v1/partner/births/{registration_no}", operation_id = "partner_birth_chain",
    params(("registration_no" = String, Path, pattern = "^[A-Za-z0-9/.-]{1,40}$"), ChainParams),
    security(("bearer" = [])), tag = "partner",
    responses((status = 200, body = ChainResponse), (status = 404, response = error::NotFound),
        PartnerRefusals))]
pub async fn birth_chain(
    State(s): State<AppState>,
    token: ClientToken,
    Path(no): Path<String>,
    q: Result<Query<ChainParams>, QueryRejection>,
) -> Response {
    read(s, token, ChainKind::Birth, no, q).await
}

/// A death chain the partner sent, by registration number.
#[utoipa::path(get, path = "/api/v1/partner/deaths/{registration_no}", operation_id = "partner_death_chain",
    params(("registration_no" = String, Path, pattern = "^[A-Za-z0-9/.-]{1,40}$"), ChainParams),
    security(("bearer" = [])), tag = "partner",
    responses((status = 200, body = ChainResponse), (status = 404, response = error::NotFound),
        PartnerRefusals))]
pub async fn death_chain(
    State(s): State<AppState>,
    token: ClientToken,
    Path(no): Path<String>,
    q: Result<Query<ChainParams>, QueryRejection>,
) -> Response {
    read(s, token, ChainKind::Death, no, q).await
}
