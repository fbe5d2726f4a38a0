//! Electronic identity accounts (`/api/v1/eid`) and old-CMND confirmations: public level-1
//! registration; for officers in scope, the account list and counts, one account, approval,
//! lock / unlock, the in-person level-2 upgrade, password-reset codes and integrated
//! documents. Refusals answer 422 with the rule; out-of-scope accounts answer 404.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use dancu_domain::{PersonalId, Violation};
use dancu_identity::eid::{AccountEvent, Actor, DocumentKind, Level, VerificationState};
use dancu_identity::totp;
use dancu_store::eid::{
    CmndConfirmation, EidAccount, EidCount, EidDocument, EidEvent, EidListItem, EidLogin,
};
use dancu_store::registry::now;
use dancu_store::Page;
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

use super::citizens::{page_limit, page_offset, parse_id, require_reason};
use super::{purpose, ApiPath, Version};
use crate::auth::Principal;
use crate::citizen_auth::{new_reset_code, parse_claim, register_citizen, ClaimInput, RESET_CODE_HOURS};
use crate::error::{self, ApiError, ApiResult};
use crate::AppState;

fn string_schema(pattern: String, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .build()
}

/// A full name: at least two words of Vietnamese letters (family name first).
fn full_name_schema() -> Object {
    let l = dancu_domain::openapi::NAME_LETTERS;
    let mut o = string_schema(
        format!("^[{l}]+(?:['-][{l}]+)*(?: [{l}]+(?:['-][{l}]+)*)+$"),
        "Full name as on the card: family name, middle name, given name",
    );
    o.max_length = Some(100);
    o
}

fn past_date_schema() -> Object {
    string_schema(
        dancu_domain::openapi::past_date_pattern(),
        "`YYYY-MM-DD`, `DD/MM/YYYY`, or the partial forms the registry keeps",
    )
}

fn sex_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["M", "F", "Nam", "Nữ", "male", "female"]))
        .description(Some("`Nam` / `Nữ` (or `M` / `F`)"))
        .build()
}

/// What `normalize_phone` takes: a Vietnamese mobile number, `0` or `+84` first.
fn phone_schema() -> Object {
    string_schema(
        "^(?:0|\\+84)[35789][0-9]{8}$".into(),
        "Mobile number: 03, 05, 07, 08 or 09 and 8 digits, or +84 …",
    )
}

/// True: a registration needs a portrait taken by the app.
fn portrait_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .description(Some("The app took the citizen's portrait (required)"))
        .build()
}

/// What `check_password` takes (printable ASCII here, so that characters and bytes agree).
fn citizen_password_schema() -> Object {
    let mut o = string_schema(
        "^[ -~]*[ -/:-~][ -~]*$".into(),
        "10 to 256 characters, not only digits (the API also takes other characters within 256 bytes)",
    );
    o.min_length = Some(10);
    o.max_length = Some(256);
    o
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    #[schema(value_type = PersonalId)]
    pub personal_id: String,
    #[schema(schema_with = full_name_schema)]
    pub full_name: String,
    /// `YYYY-MM-DD`, `DD/MM/YYYY`, or the partial forms the registry keeps.
    #[schema(schema_with = past_date_schema)]
    pub birth_date: String,
    /// `Nam` / `Nữ` (or `M` / `F`).
    #[schema(schema_with = sex_schema)]
    pub sex: String,
    #[schema(schema_with = phone_schema)]
    pub phone: String,
    #[schema(schema_with = portrait_schema)]
    pub portrait_captured: bool,
    #[schema(schema_with = citizen_password_schema)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct RegistrationResponse {
    pub personal_id: PersonalId,
    #[schema(schema_with = dancu_store::openapi::account_state)]
    pub state: String,
    /// Base32 TOTP secret for the authenticator app; shown only in this response.
    #[schema(pattern = "^[A-Z2-7]+=*$")]
    pub totp_secret: String,
    #[schema(pattern = "^otpauth://totp/")]
    pub otpauth_uri: String,
}

/// Level-1 self-registration (public). Name, date of birth and sex must match the
/// registry; any mismatch, and an unknown personal ID, answer alike (`eid.claim_mismatch`).
#[utoipa::path(post, path = "/api/v1/eid/registrations", operation_id = "register_eid", request_body = RegistrationRequest, tag = "eid",
    responses((status = 201, body = RegistrationResponse, links(("ReadAccount" = (operation_id = "read_eid_account", parameters(("id" = "$response.body#/personal_id")))), ("AccountEvent" = (operation_id = "eid_account_event", parameters(("id" = "$response.body#/personal_id")))), ("ResetCode" = (operation_id = "issue_reset_code", parameters(("id" = "$response.body#/personal_id")))), ("AccountDocument" = (operation_id = "eid_account_document", parameters(("id" = "$response.body#/personal_id")))))),
        (status = 400, response = error::BadRequest), (status = 409, response = error::Conflict),
        (status = 413, response = error::PayloadTooLarge), (status = 415, response = error::UnsupportedMediaType),
        (status = 422, response = error::Unprocessable), (status = 429, response = error::TooManyRequests),
        (status = 503, response = error::Unavailable)))]
pub async fn register(
    State(s): State<AppState>,
    body: Result<Json<RegistrationRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<RegistrationResponse>)> {
    let Json(b) = body?;
    let claim = parse_claim(&ClaimInput {
        personal_id: &b.personal_id,
        full_name: &b.full_name,
        birth_date: &b.birth_date,
        sex: &b.sex,
        phone: &b.phone,
        portrait_captured: b.portrait_captured,
        password: &b.password,
        password2: None,
    })?;
    let (account, secret) = register_citizen(&s, &claim, &b.password).await?;
    let raw = totp::secret_from_base32(&secret).unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(RegistrationResponse {
            personal_id: account.personal_id,
            state: account.state.code().into(),
            otpauth_uri: totp::provisioning_uri(&raw, account.personal_id.as_str(), "dancu"),
            totp_secret: secret,
        }),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountListParams {
    /// `registered`, `approved`, `activated` or `locked`; all when absent.
    #[param(schema_with = dancu_store::openapi::account_state)]
    pub state: Option<String>,
    /// 1 or 2; both when absent.
    #[param(minimum = 1, maximum = 2)]
    pub level: Option<u8>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// 0 to 2⁶³−1, default 0.
    #[param(minimum = 0, maximum = 9223372036854775807_u64, default = 0)]
    pub offset: Option<u64>,
    /// Why the officer lists (recorded in the access log).
    pub purpose: Option<String>,
}

fn level_param(l: Option<u8>) -> Result<Option<Level>, ApiError> {
    match l {
        None => Ok(None),
        Some(1) => Ok(Some(Level::One)),
        Some(2) => Ok(Some(Level::Two)),
        Some(_) => {
            Err(Violation::new("level", "eid.level", "Mức phải là 1 hoặc 2", "level must be 1 or 2").into())
        }
    }
}

/// Accounts in the caller's scope (the approval and upgrade queues).
#[utoipa::path(get, path = "/api/v1/eid/accounts", operation_id = "list_eid_accounts", params(AccountListParams), security(("bearer" = [])), tag = "eid",
    responses((status = 200, body = Page<EidListItem>, links(("ReadAccount" = (operation_id = "read_eid_account", parameters(("id" = "$response.body#/items/0/personal_id")))), ("AccountEvent" = (operation_id = "eid_account_event", parameters(("id" = "$response.body#/items/0/personal_id")))), ("ResetCode" = (operation_id = "issue_reset_code", parameters(("id" = "$response.body#/items/0/personal_id")))), ("AccountDocument" = (operation_id = "eid_account_document", parameters(("id" = "$response.body#/items/0/personal_id")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    q: Result<Query<AccountListParams>, QueryRejection>,
) -> ApiResult<Json<Page<EidListItem>>> {
    let Query(q) = q?;
    let offset = page_offset(q.offset)?;
    let state = q.state.as_deref().filter(|s| !s.is_empty());
    if let Some(st) = state {
        if !["registered", "approved", "activated", "locked"].contains(&st) {
            return Err(
                Violation::new("state", "eid.state", "Trạng thái không hợp lệ", "unknown state").into()
            );
        }
    }
    let limit = page_limit(q.limit)?;
    let access = p.access(&purpose(&headers, q.purpose.as_deref()));
    let page = s.registry.eid_list(&access, state, level_param(q.level)?, limit, offset).await?;
    Ok(Json(page))
}

/// Account counts per level, state and commune in the caller's scope (for reports).
#[utoipa::path(get, path = "/api/v1/eid/stats", operation_id = "eid_stats", security(("bearer" = [])), tag = "eid",
    responses((status = 200, body = Vec<EidCount>),
        (status = 401, response = error::Unauthorized), (status = 503, response = error::Unavailable)))]
pub async fn stats(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<EidCount>>> {
    let access = p.access(&purpose(&headers, None));
    Ok(Json(s.registry.eid_counts(&access).await?))
}

/// One account with its holder's name, history, documents and recent logins: the schema of
/// `dancu_store::registry::EidView`, written here field for field (the registry's types stay
/// free of OpenAPI); `tests/it/openapi.rs` checks a real answer against it.
#[derive(ToSchema)]
#[schema(as = EidView)]
#[allow(dead_code)]
pub struct EidViewDoc {
    account: EidAccount,
    full_name: String,
    /// What the citizen typed at a self-registration; null for an account made otherwise.
    claim: Option<dancu_store::eid::EidClaim>,
    events: Vec<EidEvent>,
    documents: Vec<EidDocument>,
    logins: Vec<EidLogin>,
}

/// One account with its history, documents and recent logins.
#[utoipa::path(get, path = "/api/v1/eid/accounts/{id}", operation_id = "read_eid_account", params(("id" = inline(PersonalId), Path)), security(("bearer" = [])), tag = "eid",
    responses((status = 200, body = EidViewDoc),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn read(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<dancu_store::registry::EidView>> {
    let id = parse_id(&id)?;
    Ok(Json(s.registry.eid_view(&p.access(&purpose(&headers, None)), &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// `approve`, `lock`, `unlock` or `upgrade_level_2`.
    pub event: String,
    /// Required to lock and to unlock.
    #[serde(default)]
    pub reason: String,
    /// For `upgrade_level_2`: face and fingerprints verified in person.
    #[serde(default)]
    pub biometrics_verified: bool,
    /// The account version the officer saw (optimistic check).
    #[serde(default)]
    pub expected_version: Option<Version>,
}

impl utoipa::PartialSchema for EventRequest {
    fn schema() -> RefOr<Schema> {
        use super::schema::*;
        let v = || ("expected_version", int64());
        one_of(
            "What happens to the account; `expected_version` is the version the officer saw \
             (optimistic check; 409 when it changed)",
            vec![
                variant("Approve a registration", vec![("event", constant("approve")), v()], &["event"]),
                variant(
                    "Lock or unlock the account, for `reason`",
                    vec![("event", one_of_strings(&["lock", "unlock"])), ("reason", reason()), v()],
                    &["event", "reason"],
                ),
                variant(
                    "Upgrade to level 2 after face and fingerprints were verified in person",
                    vec![("event", constant("upgrade_level_2")), ("biometrics_verified", truth()), v()],
                    &["event", "biometrics_verified"],
                ),
            ],
        )
    }
}

impl ToSchema for EventRequest {}

/// Approves, locks, unlocks or upgrades an account in the caller's scope.
#[utoipa::path(post, path = "/api/v1/eid/accounts/{id}/events", operation_id = "eid_account_event", params(("id" = inline(PersonalId), Path)), request_body = EventRequest,
    security(("bearer" = [])), tag = "eid",
    responses((status = 200, body = EidAccount, links(("ReadAccount" = (operation_id = "read_eid_account", parameters(("id" = "$response.body#/personal_id")))), ("AccountEvent" = (operation_id = "eid_account_event", parameters(("id" = "$response.body#/personal_id")))), ("ResetCode" = (operation_id = "issue_reset_code", parameters(("id" = "$response.body#/personal_id")))), ("AccountDocument" = (operation_id = "eid_account_document", parameters(("id" = "$response.body#/personal_id")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn event(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Result<Json<EventRequest>, JsonRejection>,
) -> ApiResult<Json<EidAccount>> {
    let Json(b) = body?;
    let id = parse_id(&id)?;
    let access = p.access(&purpose(&headers, None));
    let r = &s.registry;
    let account = match b.event.as_str() {
        "approve" => {
            r.eid_officer_event(&access, &id, &AccountEvent::Approve, b.expected_version.map(|v| v.0)).await?
        }
        "lock" => {
            let ev = AccountEvent::Lock { by: Actor::Officer, reason: require_reason(&b.reason)? };
            r.eid_officer_event(&access, &id, &ev, b.expected_version.map(|v| v.0)).await?
        }
        "unlock" => {
            let ev = AccountEvent::Unlock { by: Actor::Officer, reason: require_reason(&b.reason)? };
            r.eid_officer_event(&access, &id, &ev, b.expected_version.map(|v| v.0)).await?
        }
        "upgrade_level_2" => {
            let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
            r.eid_upgrade_level2(&access, &id, b.biometrics_verified, today, b.expected_version.map(|v| v.0))
                .await?
        }
        _ => {
            return Err(Violation::new(
                "event",
                "eid.event_unknown",
                "Sự kiện phải là approve, lock, unlock hoặc upgrade_level_2",
                "event must be approve, lock, unlock or upgrade_level_2",
            )
            .into())
        }
    };
    Ok(Json(account))
}

#[derive(Serialize, ToSchema)]
pub struct ResetCode {
    /// Read it to the citizen; shown only here.
    #[schema(pattern = "^[0-9]{5}-[0-9]{5}$")]
    pub code: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// Issues a one-time password-reset code after the officer has checked the citizen's card
/// in person. The code is valid 24 hours.
#[utoipa::path(post, path = "/api/v1/eid/accounts/{id}/reset-code", operation_id = "issue_reset_code", params(("id" = inline(PersonalId), Path)),
    security(("bearer" = [])), tag = "eid",
    responses((status = 200, body = ResetCode),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 404, response = error::NotFound),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn reset_code(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ResetCode>> {
    let id = parse_id(&id)?;
    let code = new_reset_code();
    let expires = now() + chrono::Duration::hours(RESET_CODE_HOURS);
    s.registry
        .eid_issue_reset(
            &p.access(&purpose(&headers, None)),
            &id,
            crate::citizen_auth::reset_code_hash(&s, &id, &code),
            expires,
        )
        .await?;
    Ok(Json(ResetCode { code, expires_at: expires.to_rfc3339() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentRequest {
    /// `health_insurance`, `driving_licence`, `vehicle_registration`, `tax_code`,
    /// `social_insurance`.
    pub kind: String,
    /// For a link: the document number.
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub source_agency: Option<String>,
    /// For a verification answer: `verified`, `rejected` (with `reason`) or `pending`.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub reason: String,
}

/// The canonical number formats of each kind (`validate_number` also takes other spellings:
/// spaces, lower case, a plate written compactly).
const DOCUMENT_NUMBERS: [(DocumentKind, &str); 5] = [
    (DocumentKind::HealthInsurance, "^(?:[A-Z]{2}[0-9]{13}|[0-9]{10})$"),
    (DocumentKind::DrivingLicence, "^[0-9]{12}$"),
    (
        DocumentKind::VehicleRegistration,
        "^(?:1[1-9]|[2-9][0-9])(?:[A-Z]{1,2}-(?:[0-9]{3}\\.[0-9]{2}|[0-9]{4})|-[A-Z]{1,2}[0-9] (?:[0-9]{3}\\.[0-9]{2}|[0-9]{4}))$",
    ),
    // The holder's own 12-digit personal ID is a tax code too; not listed, since the
    // schema cannot say whose it is (`eid.document_holder`).
    (DocumentKind::TaxCode, "^[0-9]{10}(?:-[0-9]{3})?$"),
    (DocumentKind::SocialInsurance, "^[0-9]{10}$"),
];

impl utoipa::PartialSchema for DocumentRequest {
    fn schema() -> RefOr<Schema> {
        use super::schema::*;
        let mut variants: Vec<Object> = DOCUMENT_NUMBERS
            .iter()
            .map(|(kind, number)| {
                variant(
                    &format!("Link a {} by its number", kind.label_en()),
                    vec![
                        ("kind", constant(kind.code())),
                        ("number", pattern(number)),
                        ("source_agency", string(Some(200))),
                    ],
                    &["kind", "number"],
                )
            })
            .collect();
        let kinds: Vec<&str> = DocumentKind::ALL.iter().map(|k| k.code()).collect();
        variants.push(variant(
            "The source agency's answer: verified, or back to pending",
            vec![
                ("kind", one_of_strings(&kinds)),
                ("state", one_of_strings(&["verified", "pending"])),
                ("reason", string(Some(500))),
            ],
            &["kind", "state"],
        ));
        variants.push(variant(
            "The source agency refused the document, for `reason`",
            vec![("kind", one_of_strings(&kinds)), ("state", constant("rejected")), ("reason", reason())],
            &["kind", "state", "reason"],
        ));
        one_of("Either a link (`number`) or a verification answer (`state`), not both", variants)
    }
}

impl ToSchema for DocumentRequest {}

/// Links an integrated document, or records the source agency's verification answer.
#[utoipa::path(post, path = "/api/v1/eid/accounts/{id}/documents", operation_id = "eid_account_document", params(("id" = inline(PersonalId), Path)),
    request_body = DocumentRequest, security(("bearer" = [])), tag = "eid",
    responses((status = 200, body = EidDocument),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 404, response = error::NotFound),
        (status = 409, response = error::Conflict), (status = 413, response = error::PayloadTooLarge),
        (status = 415, response = error::UnsupportedMediaType), (status = 422, response = error::Unprocessable),
        (status = 503, response = error::Unavailable)))]
pub async fn document(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: Result<Json<DocumentRequest>, JsonRejection>,
) -> ApiResult<Json<EidDocument>> {
    let Json(b) = body?;
    let id = parse_id(&id)?;
    let kind = DocumentKind::from_code(&b.kind).ok_or_else(|| {
        ApiError::from(Violation::new(
            "kind",
            "eid.document_kind",
            "Loại giấy tờ không hợp lệ",
            "unknown document kind",
        ))
    })?;
    let access = p.access(&purpose(&headers, None));
    let doc = match (b.number.as_deref(), b.state.as_deref()) {
        (Some(n), None) => {
            s.registry.eid_link_document(&access, &id, kind, n, b.source_agency.as_deref()).await?
        }
        (None, Some(st)) => {
            let to = match st {
                "verified" => VerificationState::Verified,
                "pending" => VerificationState::Pending,
                "rejected" => VerificationState::Rejected { reason: b.reason },
                _ => {
                    return Err(Violation::new(
                        "state",
                        "eid.document_state",
                        "Trạng thái phải là verified, rejected hoặc pending",
                        "state must be verified, rejected or pending",
                    )
                    .into())
                }
            };
            s.registry.eid_document_state(&access, &id, kind, to).await?
        }
        _ => {
            return Err(Violation::new(
                "number",
                "eid.document_request",
                "Gửi số giấy tờ (để tích hợp) hoặc trạng thái (để xác thực), không cả hai",
                "send either number (to link) or state (to verify), not both",
            )
            .into())
        }
    };
    Ok(Json(doc))
}

/// Issues the confirmation of a card holder's old CMND number.
#[utoipa::path(post, path = "/api/v1/citizens/{id}/cmnd-confirmations", operation_id = "confirm_cmnd", params(("id" = inline(PersonalId), Path)),
    security(("bearer" = [])), tag = "eid",
    responses((status = 201, body = CmndConfirmation, links(("ReadConfirmation" = (operation_id = "read_cmnd_confirmation", parameters(("number" = "$response.body#/number")))))),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 403, response = error::Forbidden), (status = 404, response = error::NotFound),
        (status = 422, response = error::Unprocessable), (status = 503, response = error::Unavailable)))]
pub async fn confirm_cmnd(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<CmndConfirmation>)> {
    let id = parse_id(&id)?;
    let c = s.registry.confirm_cmnd(&p.access(&purpose(&headers, None)), &id).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Looks a confirmation up by its number (in the caller's scope).
#[utoipa::path(get, path = "/api/v1/cmnd-confirmations/{number}", operation_id = "read_cmnd_confirmation",
    params(("number" = String, Path, description = "`XN-<year>-<personal ID>-<n>`")), security(("bearer" = [])), tag = "eid",
    responses((status = 200, body = CmndConfirmation),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 404, response = error::NotFound), (status = 503, response = error::Unavailable)))]
pub async fn read_confirmation(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    ApiPath(number): ApiPath<String>,
) -> ApiResult<Json<CmndConfirmation>> {
    Ok(Json(s.registry.cmnd_confirmation(&p.access(&purpose(&headers, None)), &number).await?))
}
