//! Partner access (issue 13): agency systems authenticated by OAuth client credentials
//! (`ClientToken`, the `oidc` module's bearer) verify people against the registry
//! (`/api/v1/partner/verify`, batches of up to 10,000 records) and hospitals look up a
//! card's linked documents from a scanned QR payload (`/api/v1/partner/card-lookup`).
//! Every call states a purpose, is rate-limited per partner (a token bucket in memory,
//! `429` with `Retry-After`) and goes through the registry's audited path. Refusals have
//! stable codes (`insufficient_scope`, `partner_unknown`, `partner_suspended`, `partner_not_entitled`,
//! `rate_limited`, `batch_too_large`, `validation_failed`) and are audited. Calls are counted
//! per partner, operation, purpose and outcome in memory and added to the database every
//! few seconds (`/api/v1/partners/stats`, the `/partners` page).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dancu_domain::verify::{
    AddressClaim, Claim, FieldOutcome, FieldResult, MatchMode, NameMode, Overall, Verdict,
};
use dancu_domain::{PartialDate, PersonalId, Sex, Violation};
use dancu_store::partners::{CallCount, Operation, Partner};
use dancu_store::registry::{CardLookup, RegistryError, VerifyAnswer, VerifyItem, MAX_BATCH};
use dancu_store::throttle::SharedThrottle;
use serde::{Deserialize, Serialize};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, IntoResponses, ToResponse, ToSchema};

use super::purpose;
use crate::auth::Principal;
use crate::error::{self, ApiError, ApiResult};
use crate::oidc::bearer::ClientToken;
use crate::AppState;

/// The largest batch body taken (10,000 records with every field fit in well under this).
pub const MAX_BATCH_BODY: usize = 8 << 20;
/// How long a partner's entitlements are cached: a suspension on another server (or by the
/// CLI) takes effect within this time; on this server's `/partners` page, at once.
const CACHE_TTL: Duration = Duration::from_secs(2);
/// How often the call counts are added to the database.
const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Partners' state in memory: cached entitlements, rate-limit buckets and call counts.
#[derive(Default)]
pub struct PartnerRuntime {
    cache: Mutex<HashMap<String, Cached>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    counts: Mutex<HashMap<CountKey, u64>>,
    last_flush: Mutex<Option<Instant>>,
    flushing: AtomicBool,
    /// Held while counts taken from memory are being stored, so that a stats read waits for
    /// a background flush in flight instead of reading the table without its counts.
    storing: tokio::sync::Mutex<()>,
    /// The database's shared windows (PostgreSQL), so that several servers together hold a
    /// partner to its rate; `None` on SQLite, where one server is the whole deployment.
    shared: Option<SharedThrottle>,
    /// Per partner key, the share of the current shared window this server has taken and
    /// not yet spent (one lock per key, held while a new share is asked for).
    shares: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Share>>>>,
}

/// Calls of a shared window taken at once by this server: `left` of them, until `until_ms`.
#[derive(Default)]
struct Share {
    left: u32,
    until_ms: i64,
}

/// The share of a partner's window a server takes at once: a twentieth of the burst, so a
/// partner at full rate costs the database one update per twentieth instead of one per call.
/// Shares are taken all or none and only ever counted, so the servers together never exceed
/// the limit; a share left unspent on one server when the window ends makes the partner's
/// limit on the others that much lower for that window. Small bursts (under 40) go one by one.
fn share_size(burst: u32) -> u32 {
    (burst / 20).max(1)
}

/// A partner's entitlements (or their absence) and when they were read.
type Cached = (Instant, Option<Arc<Partner>>);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CountKey {
    day: String,
    client_id: String,
    operation: &'static str,
    purpose: String,
    outcome: &'static str,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl PartnerRuntime {
    /// Partners' limits shared by every server on the database through `t`.
    pub fn shared(t: SharedThrottle) -> Self {
        PartnerRuntime { shared: Some(t), ..Default::default() }
    }

    /// The limit across servers: at most `burst` calls in each window of `burst / rate`
    /// seconds, counted in the database in shares ([`share_size`]). Its average is the
    /// bucket's rate; its burst is the bucket's. This server's own bucket is asked first, so
    /// a partner far above its rate is refused without a database round trip.
    async fn take_shared(&self, p: &Partner) -> Result<(), u64> {
        let Some(t) = &self.shared else { return Ok(()) };
        let burst = p.burst.max(1);
        let window_ms = (i64::from(burst) * 1000 / i64::from(p.rate_per_sec.max(1))).max(1);
        // The limits are part of the key: new entitlements start a new count.
        let key = format!("partner:{}:{}/{}", p.client_id, p.rate_per_sec, p.burst);
        let slot =
            self.shares.lock().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_default().clone();
        let mut share = slot.lock().await;
        let now_ms = chrono::Utc::now().timestamp_millis();
        if share.left > 0 && now_ms < share.until_ms {
            share.left -= 1;
            return Ok(());
        }
        let mut n = share_size(burst);
        loop {
            match t.take_window_many(&key, now_ms, window_ms, burst, n).await {
                Ok(Ok(until_ms)) => {
                    *share = Share { left: n - 1, until_ms };
                    return Ok(());
                }
                // Near the end of a window, what is left is taken one call at a time.
                Ok(Err(_)) if n > 1 => n = 1,
                Ok(Err(until)) => return Err((((until - now_ms).max(0) + 999) / 1000).max(1) as u64),
                // The shared count is a limit, not a door: a database hiccup leaves this
                // server's own bucket in charge.
                Err(e) => {
                    tracing::warn!(error = %e, "partner rate limit: the shared window could not be read");
                    return Ok(());
                }
            }
        }
    }

    /// Forgets a cached partner (after a change on this server).
    pub fn forget(&self, client_id: &str) {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).remove(client_id);
    }

    /// Takes one request from the partner's bucket, or says how many seconds to wait.
    fn take(&self, p: &Partner) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let burst = f64::from(p.burst.max(1));
        let rate = f64::from(p.rate_per_sec.max(1));
        let b = buckets.entry(p.client_id.clone()).or_insert(Bucket { tokens: burst, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    fn add(&self, client_id: &str, op: &'static str, purpose: &str, outcomes: &[(&'static str, u64)]) {
        let day = dancu_domain::date::vietnam_today(chrono::Utc::now()).to_string();
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        for &(outcome, n) in outcomes.iter().filter(|(_, n)| *n > 0) {
            let key = CountKey {
                day: day.clone(),
                client_id: client_id.into(),
                operation: op,
                purpose: purpose.into(),
                outcome,
            };
            *counts.entry(key).or_default() += n;
        }
    }

    fn take_counts(&self) -> Vec<CallCount> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .drain()
            .map(|(k, count)| CallCount {
                day: k.day,
                client_id: k.client_id,
                operation: k.operation.into(),
                purpose: k.purpose,
                outcome: k.outcome.into(),
                count,
            })
            .collect()
    }
}

/// Adds the counts gathered in memory to the database now (the stats read this first).
pub async fn flush_counts(s: &AppState) {
    let _storing = s.partners.storing.lock().await;
    let counts = s.partners.take_counts();
    if counts.is_empty() {
        return;
    }
    if let Err(e) = s.registry.partner_add_counts(&counts).await {
        tracing::warn!(error = %e, "partner call counts not stored; kept for the next flush");
        let mut mem = s.partners.counts.lock().unwrap_or_else(|e| e.into_inner());
        for c in counts {
            let key = CountKey {
                day: c.day,
                client_id: c.client_id,
                operation: Operation::ALL
                    .iter()
                    .map(|o| o.code())
                    .find(|o| *o == c.operation)
                    .unwrap_or("verify"),
                purpose: c.purpose,
                outcome: OUTCOMES.iter().find(|o| **o == c.outcome).copied().unwrap_or("refused"),
            };
            *mem.entry(key).or_default() += c.count;
        }
    }
}

const OUTCOMES: [&str; 13] = [
    "insufficient_scope",
    "match",
    "mismatch",
    "id_only",
    "not_found",
    "found",
    "partner_unknown",
    "partner_suspended",
    "partner_not_entitled",
    "rate_limited",
    "validation_failed",
    "batch_too_large",
    "refused",
];

/// Counts the call, and every few seconds adds the counts to the database in the background.
pub(super) fn count(
    s: &AppState,
    client_id: &str,
    op: Operation,
    purpose: &str,
    outcomes: &[(&'static str, u64)],
) {
    s.partners.add(client_id, op.code(), purpose, outcomes);
    let due = {
        let mut last = s.partners.last_flush.lock().unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|t| t.elapsed() >= FLUSH_EVERY);
        if due {
            *last = Some(Instant::now());
        }
        due
    };
    if due && !s.partners.flushing.swap(true, Ordering::AcqRel) {
        let s = s.clone();
        tokio::spawn(async move {
            flush_counts(&s).await;
            s.partners.flushing.store(false, Ordering::Release);
        });
    }
}

/// A partner's entitlements, from the cache or the database.
async fn partner_of(s: &AppState, client_id: &str) -> Result<Option<Arc<Partner>>, ApiError> {
    if let Some((at, p)) = s.partners.cache.lock().unwrap_or_else(|e| e.into_inner()).get(client_id) {
        if at.elapsed() < CACHE_TTL {
            return Ok(p.clone());
        }
    }
    let p = s.registry.partner(client_id).await?.map(Arc::new);
    s.partners
        .cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(client_id.into(), (Instant::now(), p.clone()));
    Ok(p)
}

/// A partner call's input as the handler receives it: a JSON body or query parameters, or
/// axum's rejection of them.
pub(super) trait PartnerInput {
    type Value: Purposed;
    fn value(self) -> Result<Self::Value, ApiError>;
}

impl<T: Purposed> PartnerInput for Result<Json<T>, JsonRejection> {
    type Value = T;
    fn value(self) -> Result<T, ApiError> {
        self.map(|Json(b)| b).map_err(ApiError::from)
    }
}

impl<T: Purposed> PartnerInput for Result<Query<T>, QueryRejection> {
    type Value = T;
    fn value(self) -> Result<T, ApiError> {
        self.map(|Query(q)| q).map_err(ApiError::from)
    }
}

/// A partner request: it states its purpose.
pub(super) trait Purposed {
    fn purpose(&self) -> Option<&str>;
}

/// A request's `purpose` field: required in a body, optional in a query.
pub(super) trait PurposeField {
    fn as_purpose(&self) -> Option<&str>;
}

impl PurposeField for String {
    fn as_purpose(&self) -> Option<&str> {
        Some(self)
    }
}

impl PurposeField for Option<String> {
    fn as_purpose(&self) -> Option<&str> {
        self.as_deref()
    }
}

/// [`Purposed`] for request types with a `purpose` field.
macro_rules! purposed {
    ($($t:ty),+) => {$(
        impl $crate::api::partner::Purposed for $t {
            fn purpose(&self) -> Option<&str> {
                $crate::api::partner::PurposeField::as_purpose(&self.purpose)
            }
        }
    )+};
}
pub(super) use purposed;

/// A partner call let in: what it sent, the partner and its purpose.
pub(super) struct Admitted<T> {
    pub input: T,
    pub partner: Arc<Partner>,
    pub purpose: String,
}

/// Every partner call's prelude: its body (or query) read, a bad one refused with its
/// rejection's answer (counted and audited as `validation_failed`), then [`admit`].
pub(super) async fn admitted<I: PartnerInput>(
    s: &AppState,
    token: &ClientToken,
    op: Operation,
    input: I,
) -> Result<Admitted<I::Value>, Response> {
    match input.value() {
        Ok(v) => admit_input(s, token, op, v).await,
        Err(e) => {
            refuse(s, &token.client_id, op, "", "validation_failed").await;
            Err(e.into_response())
        }
    }
}

/// [`admit`] for an input already read (a batch reads its own body).
async fn admit_input<T: Purposed>(
    s: &AppState,
    token: &ClientToken,
    op: Operation,
    input: T,
) -> Result<Admitted<T>, Response> {
    let (partner, purpose) = admit(s, token, op, input.purpose()).await?;
    Ok(Admitted { input, partner, purpose })
}

/// The error answers every partner call documents (`responses(...)` of `utoipa::path`):
/// 400, 401, 403, 422, 429 and 503.
pub(super) struct PartnerRefusals;

/// Those of a partner call with a JSON body, besides [`PartnerRefusals`]: 413 and 415.
pub(super) struct BodyRefusals;

fn refs(list: &[(&str, &str)]) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    list.iter()
        .map(|(status, name)| (status.to_string(), RefOr::Ref(Ref::from_response_name(*name))))
        .collect()
}

fn response_name<R: ToResponse<'static>>() -> &'static str {
    R::response().0
}

impl IntoResponses for PartnerRefusals {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        refs(&[
            ("400", response_name::<error::BadRequest>()),
            ("401", response_name::<error::Unauthorized>()),
            ("403", response_name::<error::Forbidden>()),
            ("422", response_name::<error::Unprocessable>()),
            ("429", response_name::<error::TooManyRequests>()),
            ("503", response_name::<error::Unavailable>()),
        ])
    }
}

impl IntoResponses for BodyRefusals {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        refs(&[
            ("413", response_name::<error::PayloadTooLarge>()),
            ("415", response_name::<error::UnsupportedMediaType>()),
        ])
    }
}

/// What every call checks before it reads anything: a stated purpose, a known partner and
/// its rate limit. Each refusal is audited and counted.
async fn admit(
    s: &AppState,
    token: &ClientToken,
    op: Operation,
    raw_purpose: Option<&str>,
) -> Result<(Arc<Partner>, String), Response> {
    let client_id = token.client_id.as_str();
    let purpose = match check_purpose(raw_purpose) {
        Ok(p) => p,
        Err(v) => {
            refuse(s, client_id, op, "", "validation_failed").await;
            return Err(ApiError::invalid(vec![v]).into_response());
        }
    };
    let scope = match op {
        Operation::CardLookup => "partner:card",
        Operation::Feed => "partner:feed",
        Operation::CivilRegistration => "partner:civil",
        _ => "partner:verify",
    };
    if !token.has_scope(scope) {
        refuse(s, client_id, op, &purpose, "insufficient_scope").await;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("Mã truy cập thiếu phạm vi {scope}"),
            format!("the access token lacks the scope {scope}"),
        )
        .into_response());
    }
    let partner = match partner_of(s, client_id).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            refuse(s, client_id, op, &purpose, "partner_unknown").await;
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "partner_unknown",
                "Ứng dụng này chưa được đăng ký là đối tác",
                "this client is not registered as a partner",
            )
            .into_response());
        }
        Err(e) => return Err(e.into_response()),
    };
    let taken = match s.partners.take(&partner) {
        Ok(()) => s.partners.take_shared(&partner).await,
        Err(wait) => Err(wait),
    };
    if let Err(wait) = taken {
        refuse(s, client_id, op, &purpose, "rate_limited").await;
        let e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "Vượt giới hạn {} yêu cầu/giây của đối tác; thử lại sau {wait} giây",
                partner.rate_per_sec
            ),
            format!(
                "over the partner's limit of {} requests per second; retry in {wait} s",
                partner.rate_per_sec
            ),
        );
        return Err(
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, wait.to_string())], e).into_response()
        );
    }
    Ok((partner, purpose))
}

/// Audits and counts a refusal decided here.
pub(super) async fn refuse(s: &AppState, client_id: &str, op: Operation, purpose: &str, code: &'static str) {
    s.registry.partner_refused(client_id, op.code(), purpose, code).await;
    count(s, client_id, op, purpose, &[(code, 1)]);
}

/// A refusal from the registry (suspended, not entitled) with its stable code, counted.
pub(super) fn registry_refusal(
    s: &AppState,
    p: &Partner,
    op: Operation,
    purpose: &str,
    e: RegistryError,
) -> ApiError {
    if let RegistryError::Forbidden(v) = &e {
        let code = match v.rule {
            "partner.suspended" => Some("partner_suspended"),
            "partner.not_entitled" => Some("partner_not_entitled"),
            _ => None,
        };
        if let Some(code) = code {
            count(s, &p.client_id, op, purpose, &[(code, 1)]);
            return ApiError {
                status: StatusCode::FORBIDDEN,
                code,
                message_vi: v.message_vi.clone(),
                message_en: v.message_en.clone(),
                violations: vec![v.clone()],
            };
        }
    }
    e.into()
}

/// A purpose is required: 3 to 200 characters, no control or invisible characters.
pub fn check_purpose(raw: Option<&str>) -> Result<String, Violation> {
    let raw = raw.unwrap_or("");
    dancu_domain::text::check_no_hidden_chars("purpose", raw)?;
    let p = dancu_domain::nfc(raw);
    let n = p.chars().count();
    if !(3..=200).contains(&n) {
        return Err(Violation::new(
            "purpose",
            "partner.purpose_required",
            "Cần nêu mục đích truy cập (3–200 ký tự)",
            "a purpose is required (3–200 characters)",
        ));
    }
    Ok(p)
}

/// A claimed address: a commune (`2025:NNNNN` or `legacy:NNNNN`) and optionally the house
/// number and street.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    #[schema(pattern = "^(2025|legacy):[0-9]{5}$", example = "2025:00004")]
    pub unit: String,
    #[schema(max_length = 200)]
    pub detail: Option<String>,
}

/// What the partner holds about one person. Only `personal_id` is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    #[schema(pattern = "^[0-9]{12}$", example = "001090012345")]
    pub personal_id: String,
    #[schema(max_length = 100)]
    pub full_name: Option<String>,
    /// `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `MM/YYYY` or `DD/MM/YYYY`.
    pub date_of_birth: Option<String>,
    /// `M` or `F`.
    #[schema(pattern = "^[MF]$")]
    pub sex: Option<String>,
    pub address: Option<AddressInput>,
    /// How names compare (default `tolerant`; a batch's own setting otherwise).
    pub name_mode: Option<NameMode>,
}

/// `POST /api/v1/partner/verify`: the purpose and one record's fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// Why the partner asks (recorded; the person sees it).
    #[schema(min_length = 3, max_length = 200)]
    pub purpose: String,
    #[schema(pattern = "^[0-9]{12}$", example = "001090012345")]
    pub personal_id: String,
    #[schema(max_length = 100)]
    pub full_name: Option<String>,
    /// `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `MM/YYYY` or `DD/MM/YYYY`.
    pub date_of_birth: Option<String>,
    /// `M` or `F`.
    #[schema(pattern = "^[MF]$")]
    pub sex: Option<String>,
    pub address: Option<AddressInput>,
    /// How names compare (default `tolerant`).
    pub name_mode: Option<NameMode>,
}

purposed!(VerifyRequest, BatchRequest, CardLookupRequest);

impl VerifyRequest {
    fn record(self) -> RecordInput {
        RecordInput {
            personal_id: self.personal_id,
            full_name: self.full_name,
            date_of_birth: self.date_of_birth,
            sex: self.sex,
            address: self.address,
            name_mode: self.name_mode,
        }
    }
}

/// `POST /api/v1/partner/verify/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    #[schema(min_length = 3, max_length = 200)]
    pub purpose: String,
    /// Default for records that do not set their own.
    pub name_mode: Option<NameMode>,
    /// At most 10,000.
    #[schema(max_items = 10000)]
    pub records: Vec<RecordInput>,
}

/// Per-field results.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldsOutput {
    pub full_name: FieldResult,
    pub date_of_birth: FieldResult,
    pub sex: FieldResult,
    pub address: FieldResult,
}

/// The answer for one record: `not_found` (also for a person outside the partner's units),
/// or the overall result (`match`, `mismatch`, `id_only`), the fields and the life status.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResult {
    pub personal_id: String,
    /// `not_found`, `match`, `mismatch` or `id_only`.
    pub result: &'static str,
    /// `alive`, `deceased` or `missing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub life_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldsOutput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    pub count: usize,
    pub results: Vec<VerifyResult>,
}

fn overall_code(o: Overall) -> &'static str {
    match o {
        Overall::Match => "match",
        Overall::Mismatch => "mismatch",
        Overall::IdOnly => "id_only",
    }
}

fn result_of(id: &PersonalId, a: VerifyAnswer) -> VerifyResult {
    match a {
        VerifyAnswer::NotFound => {
            VerifyResult { personal_id: id.to_string(), result: "not_found", life_status: None, fields: None }
        }
        VerifyAnswer::Found { verdict: v, life_status } => VerifyResult {
            personal_id: id.to_string(),
            result: overall_code(v.overall),
            life_status: Some(life_status.code()),
            fields: Some(FieldsOutput {
                full_name: v.full_name,
                date_of_birth: v.date_of_birth,
                sex: v.sex,
                address: v.address,
            }),
        },
    }
}

/// Parses one record; violations name `prefix.field`.
fn parse_record(
    r: &RecordInput,
    default_mode: NameMode,
    prefix: &str,
    out: &mut Vec<Violation>,
) -> Option<VerifyItem> {
    let at = |v: Violation, f: &str| {
        let mut v = v;
        v.field = format!("{prefix}{f}");
        v
    };
    let before = out.len();
    let id = r.personal_id.parse::<PersonalId>().map_err(|v| out.push(at(v, "personal_id"))).ok();
    let mut text = |raw: &Option<String>, f: &str, max: usize| -> Option<String> {
        let raw = raw.as_deref()?;
        if let Err(v) = dancu_domain::text::check_no_hidden_chars(f, raw) {
            out.push(at(v, f));
            return None;
        }
        if raw.chars().count() > max {
            out.push(at(
                Violation::new(
                    f,
                    "text.too_long",
                    format!("Tối đa {max} ký tự"),
                    format!("at most {max} characters"),
                ),
                f,
            ));
            return None;
        }
        Some(raw.to_string())
    };
    let full_name = text(&r.full_name, "full_name", 100);
    let detail = r.address.as_ref().and_then(|a| text(&a.detail, "address.detail", 200));
    let birth_date = match r.date_of_birth.as_deref() {
        None => None,
        Some(d) => d.parse::<PartialDate>().map_err(|v| out.push(at(v, "date_of_birth"))).ok(),
    };
    let sex = match r.sex.as_deref() {
        None => None,
        Some(x) => Sex::parse(x).map_err(|v| out.push(at(v, "sex"))).ok(),
    };
    let address = match &r.address {
        None => None,
        Some(a) => match a.unit.parse::<dancu_domain::UnitRef>() {
            Ok(unit) => Some(AddressClaim { unit, detail }),
            Err(v) => {
                out.push(at(v, "address.unit"));
                None
            }
        },
    };
    if out.len() > before {
        return None;
    }
    Some(VerifyItem {
        personal_id: id?,
        claim: Claim { full_name, name_mode: r.name_mode.unwrap_or(default_mode), birth_date, sex, address },
    })
}

/// Counts of the answers' outcomes.
fn tally(results: &[VerifyResult]) -> [(&'static str, u64); 4] {
    let mut t = [("match", 0), ("mismatch", 0), ("id_only", 0), ("not_found", 0)];
    for r in results {
        if let Some(slot) = t.iter_mut().find(|(k, _)| *k == r.result) {
            slot.1 += 1;
        }
    }
    t
}

/// Verifies one person: "not found" (also for a person outside the partner's units), or
/// per field match / mismatch / not provided with the mode that matched, the overall result
/// and the life status; nothing else.
#[utoipa::path(post, path = "/api/v1/partner/verify", operation_id = "partner_verify", request_body = VerifyRequest,
    security(("bearer" = [])), tag = "partner",
    responses((status = 200, body = VerifyResult), PartnerRefusals, BodyRefusals))]
pub async fn verify(
    State(s): State<AppState>,
    token: ClientToken,
    body: Result<Json<VerifyRequest>, JsonRejection>,
) -> Response {
    let op = Operation::Verify;
    let Admitted { input: b, partner: p, purpose } = match admitted(&s, &token, op, body).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let record = b.record();
    let mut violations = Vec::new();
    let Some(item) = parse_record(&record, NameMode::Tolerant, "", &mut violations) else {
        refuse(&s, &p.client_id, op, &purpose, "validation_failed").await;
        return ApiError::invalid(violations).into_response();
    };
    match s.registry.partner_verify(&p, &purpose, std::slice::from_ref(&item)).await {
        Ok(mut answers) => {
            let a = answers.pop().unwrap_or(VerifyAnswer::NotFound);
            let r = result_of(&item.personal_id, a);
            count(&s, &p.client_id, op, &purpose, &tally(std::slice::from_ref(&r)));
            Json(r).into_response()
        }
        Err(e) => registry_refusal(&s, &p, op, &purpose, e).into_response(),
    }
}

/// Verifies up to 10,000 people in one call (one audit entry listing the people found);
/// the results are in the order of `records`. More records answer 413 `batch_too_large`.
#[utoipa::path(post, path = "/api/v1/partner/verify/batch", operation_id = "partner_verify_batch",
    request_body = BatchRequest, security(("bearer" = [])), tag = "partner",
    responses((status = 200, body = BatchResponse), PartnerRefusals, BodyRefusals))]
pub async fn verify_batch(
    State(s): State<AppState>,
    token: ClientToken,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let op = Operation::Verify;
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        refuse(&s, &token.client_id, op, "", "validation_failed").await;
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Nội dung phải là application/json",
            "the body must be application/json",
        )
        .into_response();
    }
    let bytes = match axum::body::to_bytes(body, MAX_BATCH_BODY).await {
        Ok(b) => b,
        Err(_) => {
            refuse(&s, &token.client_id, op, "", "batch_too_large").await;
            return error::payload_too_large().into_response();
        }
    };
    let b: BatchRequest = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            refuse(&s, &token.client_id, op, "", "validation_failed").await;
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                format!("Nội dung không đúng mẫu: {e}"),
                format!("the body does not fit the schema: {e}"),
            )
            .into_response();
        }
    };
    let Admitted { input: b, partner: p, purpose } = match admit_input(&s, &token, op, b).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if b.records.len() > MAX_BATCH {
        refuse(&s, &p.client_id, op, &purpose, "batch_too_large").await;
        return ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "batch_too_large",
            message_vi: format!("Mỗi lô tối đa {MAX_BATCH} bản ghi (nhận {})", b.records.len()),
            message_en: format!("a batch holds at most {MAX_BATCH} records (got {})", b.records.len()),
            violations: vec![Violation::new(
                "records",
                "partner.batch_too_large",
                format!("Tối đa {MAX_BATCH} bản ghi"),
                format!("at most {MAX_BATCH} records"),
            )],
        }
        .into_response();
    }
    let mode = b.name_mode.unwrap_or_default();
    let mut violations = Vec::new();
    let mut items = Vec::with_capacity(b.records.len());
    for (i, r) in b.records.iter().enumerate() {
        if let Some(item) = parse_record(r, mode, &format!("records[{i}]."), &mut violations) {
            items.push(item);
        }
        if violations.len() >= 100 {
            break;
        }
    }
    if !violations.is_empty() {
        refuse(&s, &p.client_id, op, &purpose, "validation_failed").await;
        return ApiError::invalid(violations).into_response();
    }
    match s.registry.partner_verify(&p, &purpose, &items).await {
        Ok(answers) => {
            let results: Vec<VerifyResult> =
                items.iter().zip(answers).map(|(i, a)| result_of(&i.personal_id, a)).collect();
            count(&s, &p.client_id, op, &purpose, &tally(&results));
            Json(BatchResponse { count: results.len(), results }).into_response()
        }
        Err(e) => registry_refusal(&s, &p, op, &purpose, e).into_response(),
    }
}

/// `POST /api/v1/partner/card-lookup`: a scanned card QR payload or a personal ID.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardLookupRequest {
    #[schema(min_length = 3, max_length = 200)]
    pub purpose: String,
    /// The QR payload as scanned (`ID|CMND|name|DDMMYYYY|sex|address|DDMMYYYY[|…]`); its
    /// personal ID drives the look-up, its name is compared tolerantly.
    #[schema(max_length = 1000)]
    pub qr: Option<String>,
    #[schema(pattern = "^[0-9]{12}$")]
    pub personal_id: Option<String>,
}

/// The card look-up's answer: `not_found` (also outside the partner's units), or the fields
/// the partner is entitled to (a field the person does not have is `null`), and for a QR
/// payload how its name, date of birth and sex compare with the record.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardLookupResponse {
    pub personal_id: String,
    /// `found` or `not_found`.
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// The QR's name: `match` (with `exact`, `tone_placement`, `folded` or `legacy_repair`)
    /// or `mismatch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_check: Option<FieldResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth_check: Option<FieldResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex_check: Option<FieldResult>,
}

/// Looks up a person's card data for a partner (a hospital: the health-insurance number
/// kept as an integrated document). A garbled name still resolves: the personal ID drives
/// the look-up and the answer says how the name matched.
#[utoipa::path(post, path = "/api/v1/partner/card-lookup", operation_id = "partner_card_lookup",
    request_body = CardLookupRequest, security(("bearer" = [])), tag = "partner",
    responses((status = 200, body = CardLookupResponse), PartnerRefusals, BodyRefusals))]
pub async fn card_lookup(
    State(s): State<AppState>,
    token: ClientToken,
    body: Result<Json<CardLookupRequest>, JsonRejection>,
) -> Response {
    let op = Operation::CardLookup;
    let Admitted { input: b, partner: p, purpose } = match admitted(&s, &token, op, body).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let parsed = parse_lookup(&b);
    let (id, qr, repaired) = match parsed {
        Ok(x) => x,
        Err(v) => {
            refuse(&s, &p.client_id, op, &purpose, "validation_failed").await;
            return ApiError::invalid(vec![v]).into_response();
        }
    };
    match s.registry.partner_card_lookup(&p, &purpose, &id, qr.as_ref()).await {
        Ok(found) => {
            count(&s, &p.client_id, op, &purpose, &[("found", 1)]);
            Json(lookup_response(found, repaired)).into_response()
        }
        Err(RegistryError::NotFound) => {
            count(&s, &p.client_id, op, &purpose, &[("not_found", 1)]);
            Json(CardLookupResponse {
                personal_id: id.to_string(),
                result: "not_found",
                fields: None,
                name_check: None,
                date_of_birth_check: None,
                sex_check: None,
            })
            .into_response()
        }
        Err(e) => registry_refusal(&s, &p, op, &purpose, e).into_response(),
    }
}

/// The personal ID to look up, and from a QR payload its name, date of birth and sex (with
/// whether a legacy encoding was undone in them).
fn parse_lookup(b: &CardLookupRequest) -> Result<(PersonalId, Option<Claim>, bool), Violation> {
    match (&b.qr, &b.personal_id) {
        (Some(qr), None) => {
            if qr.chars().count() > 1000 {
                return Err(Violation::new(
                    "qr",
                    "text.too_long",
                    "Tối đa 1000 ký tự",
                    "at most 1000 characters",
                ));
            }
            let parsed = dancu_identity::qr::parse_detailed(qr).map_err(|v| v.at("qr"))?;
            let c = parsed.card;
            let claim = Claim {
                full_name: Some(c.full_name),
                name_mode: NameMode::Tolerant,
                birth_date: Some(PartialDate::Full(c.birth_date)),
                sex: Some(c.sex),
                address: None,
            };
            Ok((c.personal_id, Some(claim), parsed.repaired_from.is_some()))
        }
        (None, Some(id)) => Ok((id.parse::<PersonalId>().map_err(|v| v.at("personal_id"))?, None, false)),
        _ => Err(Violation::new(
            "qr",
            "partner.lookup_input",
            "Gửi đúng một trong hai: mã QR (qr) hoặc số định danh (personal_id)",
            "send exactly one of qr and personal_id",
        )),
    }
}

fn lookup_response(found: CardLookup, repaired: bool) -> CardLookupResponse {
    let mut fields = serde_json::Map::new();
    for (f, v) in found.fields {
        fields.insert(f.code().into(), v.map_or(serde_json::Value::Null, serde_json::Value::String));
    }
    let check = found.qr_check.map(|v: Verdict| {
        let mut name = v.full_name;
        // The parser undid a legacy encoding before the comparison: say so.
        if repaired && name.result == FieldOutcome::Match {
            name.mode = Some(MatchMode::LegacyRepair);
        }
        (name, v.date_of_birth, v.sex)
    });
    CardLookupResponse {
        personal_id: found.personal_id.to_string(),
        result: "found",
        fields: Some(fields),
        name_check: check.map(|c| c.0),
        date_of_birth_check: check.map(|c| c.1),
        sex_check: check.map(|c| c.2),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// First Vietnam day counted, `YYYY-MM-DD` (default: 30 days ago).
    /// (A real day of the years 1800–2200; 29 February left out of the pattern.)
    #[param(
        pattern = "^(?:18[0-9]{2}|19[0-9]{2}|2[01][0-9]{2}|2200)-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)$"
    )]
    pub since: Option<String>,
    /// One partner only.
    pub client_id: Option<String>,
}

/// Partner calls per day, partner, operation, purpose and outcome (`match`, `mismatch`,
/// `id_only`, `not_found`, `found`, or a refusal code), for reports such as the hospital
/// look-up success rate. Officers, auditors, leaders and administrators.
#[utoipa::path(get, path = "/api/v1/partners/stats", operation_id = "partner_stats", params(StatsParams),
    security(("bearer" = [])), tag = "partner",
    responses((status = 200, body = Vec<CallCount>),
        (status = 400, response = error::BadRequest), (status = 401, response = error::Unauthorized),
        (status = 503, response = error::Unavailable)))]
pub async fn stats(
    State(s): State<AppState>,
    p: Principal,
    headers: HeaderMap,
    q: Result<Query<StatsParams>, QueryRejection>,
) -> ApiResult<Json<Vec<CallCount>>> {
    let Query(q) = q?;
    let since = since_day(q.since.as_deref()).map_err(ApiError::bad_query)?;
    flush_counts(&s).await;
    let access = p.access(&purpose(&headers, None));
    let client = q.client_id.as_deref().filter(|c| !c.is_empty());
    Ok(Json(s.registry.partner_counts(&access, &since, client).await?))
}

/// The first day of a stats query: given (`YYYY-MM-DD`), or 30 days before today.
pub fn since_day(raw: Option<&str>) -> Result<String, Violation> {
    match raw.filter(|r| !r.is_empty()) {
        None => {
            let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
            Ok((today - chrono::Duration::days(30)).to_string())
        }
        Some(r) => chrono::NaiveDate::parse_from_str(r, "%Y-%m-%d").map(|d| d.to_string()).map_err(|_| {
            Violation::new("since", "date.format", "Ngày phải có dạng YYYY-MM-DD", "a day must be YYYY-MM-DD")
        }),
    }
}
