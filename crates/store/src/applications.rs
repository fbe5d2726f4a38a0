//! Public-service applications (hồ sơ), their transitions and attached documents: storage
//! written once for both backends over [`crate::exec::SqlExec`]. The rules (which moves are
//! allowed, the reasons, on time) are `dancu_domain::application`'s; the audited, scoped
//! entry points are in [`crate::registry`] (`registry/applications.rs`).

use chrono::NaiveDate;
use dancu_domain::application::{AppState, Channel};
use dancu_domain::{PersonalId, Violation};
use serde::Serialize;

use crate::exec::{OwnedRow, Stmt, Val};
use crate::model::{Page, Scope, Timestamp};
use crate::rows::{self, RowGet};
use crate::{Result, Store, StoreError};

/// One application as stored, with whether it is overdue on the day it was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Application {
    pub id: i64,
    /// A code of the service catalogue (`GET /api/v1/services`... see docs/API.md).
    pub service_code: String,
    pub personal_id: PersonalId,
    pub channel: Channel,
    /// The handling unit: the 2025 commune or province code (by the service's deciding
    /// level), or `ministry` for a service decided nationally.
    pub unit: String,
    pub state: AppState,
    /// Why the last move was made (required for not accepted, information requested,
    /// rejected, withdrawn).
    pub state_reason: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub submitted_at: Timestamp,
    /// The day the result is due (working days of the service from the submission day).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub due_date: NaiveDate,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub decided_at: Option<Timestamp>,
    /// Set when completed or rejected: decided by the due date.
    pub on_time: Option<bool>,
    /// Still open and past its due date (on the day of the answer, in Vietnam).
    pub overdue: bool,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::province_code))]
    pub scope_province: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::commune_code))]
    pub scope_commune: String,
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub version: i64,
    /// What the procedure asks for (a residence procedure's request, docs/RESIDENCE.md);
    /// `{}` for services without one.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
    /// The household head whose consent the application waits for (joining a household).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub consent_from: Option<PersonalId>,
}

/// One transition of an application (`from_state` is empty for the submission).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationEvent {
    pub seq: i64,
    pub from_state: String,
    pub to_state: String,
    pub reason: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor: String,
}

/// A document attached to an application (its bytes are kept once per citizen and hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationDocument {
    pub seq: i64,
    pub kind: String,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    pub media_type: String,
    pub size: i64,
    /// The same file was already digitised for this citizen and was not stored again.
    pub reused: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor: String,
}

/// What a submission stores.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub service_code: String,
    pub personal_id: PersonalId,
    pub channel: Channel,
    pub unit: String,
    pub due_date: NaiveDate,
    pub idempotency_key: String,
    pub scope_province: String,
    pub scope_commune: String,
    pub at: Timestamp,
    pub actor: String,
    pub payload: serde_json::Value,
    pub consent_from: Option<PersonalId>,
}

/// Filters of a work queue.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub state: Option<AppState>,
    pub service_code: Option<String>,
    /// Open applications past their due date only.
    pub overdue_only: bool,
    /// Open applications only (submitted, accepted, in process, information requested):
    /// an officer's work, read through the open-work partial indexes of 0035. A `state`
    /// filter takes precedence.
    pub open_only: bool,
    /// One applicant's applications only (the portal).
    pub personal_id: Option<PersonalId>,
}

/// Applications per service, channel, unit, state and timeliness (for the reports).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationCount {
    pub service_code: String,
    pub channel: Channel,
    pub unit: String,
    pub state: AppState,
    /// For decided applications: decided on time or not.
    pub on_time: Option<bool>,
    /// Open and past the due date today.
    pub overdue: bool,
    pub count: u64,
}

const COLS: &str = "id, service_code, personal_id, channel, unit, state, state_reason, submitted_at, \
     due_date, decided_at, on_time, scope_province, scope_commune, created_by, updated_at, updated_by, version, \
     payload, consent_from";

pub(crate) fn open_list() -> String {
    AppState::OPEN.iter().map(|s| format!("'{}'", s.code())).collect::<Vec<_>>().join(", ")
}

/// The condition of the open-work partial indexes (migration 0035), which a query must
/// repeat word for word for SQLite to use them. Equalities, not `state IN (…)`: SQLite
/// evaluates an IN list of more than two constants through a temporary b-tree, for the old
/// and the new row of every UPDATE.
pub(crate) fn open_condition() -> String {
    let eq: Vec<String> = AppState::OPEN.iter().map(|s| format!("state = '{}'", s.code())).collect();
    format!("({})", eq.join(" OR "))
}

fn day(s: &str) -> Result<NaiveDate> {
    s.parse().map_err(|e| rows::corrupt("date", e))
}

fn app_from(r: &OwnedRow, today: NaiveDate) -> Result<Application> {
    let state = AppState::from_code(&r.text(5)?).map_err(|v| rows::corrupt("state", v))?;
    let due_date = day(&r.text(8)?)?;
    Ok(Application {
        id: r.int(0)?,
        service_code: r.text(1)?,
        personal_id: rows::parse_pid(&r.text(2)?)?,
        channel: Channel::from_code(&r.text(3)?).map_err(|v| rows::corrupt("channel", v))?,
        unit: r.text(4)?,
        state,
        state_reason: r.text(6)?,
        submitted_at: r.ts(7)?,
        due_date,
        decided_at: r.opt_ts(9)?,
        on_time: r.opt_int(10)?.map(|n| n != 0),
        overdue: dancu_domain::application::overdue(state, due_date, today),
        scope_province: r.text(11)?,
        scope_commune: r.text(12)?,
        created_by: r.text(13)?,
        updated_at: r.ts(14)?,
        updated_by: r.text(15)?,
        version: r.int(16)?,
        payload: serde_json::from_str(&r.text(17)?).map_err(|e| rows::corrupt("payload", e))?,
        consent_from: r.opt_text(18)?.map(|s| rows::parse_pid(&s)).transpose()?,
    })
}

/// Today in Vietnam (the day "overdue" is judged on).
pub fn today() -> NaiveDate {
    dancu_domain::date::vietnam_today(chrono::Utc::now())
}

async fn one(store: &dyn Store, cond: &str, params: Vec<Val>) -> Result<Option<Application>> {
    let rows = store.exec().query(&format!("SELECT {COLS} FROM applications WHERE {cond}"), params).await?;
    let t = today();
    rows.first().map(|r| app_from(r, t)).transpose()
}

/// The application `id`, if it exists.
pub async fn get(store: &dyn Store, id: i64) -> Result<Option<Application>> {
    one(store, "id = $1", vec![Val::Int(id)]).await
}

/// The application an applicant submitted under `key`, if any.
pub async fn by_key(store: &dyn Store, id: &PersonalId, key: &str) -> Result<Option<Application>> {
    one(
        store,
        "personal_id = $1 AND idempotency_key = $2",
        vec![Val::Text(id.to_string()), Val::Text(key.into())],
    )
    .await
}

/// Stores a submission with its first event, in one transaction committed before this
/// returns. The same applicant and idempotency key give back the first application
/// (`false`: nothing new was stored).
///
/// The insert is tried first: a retried key fails it on the unique (applicant, key) and
/// only then is the first application read, so a new submission costs one transaction
/// and no read (the stored row is what was written). The transaction is shared with the
/// other submissions and moves arriving at the same time (`transaction_combined`), under a
/// savepoint of its own.
pub async fn create(store: &dyn Store, n: &NewApplication) -> Result<(Application, bool)> {
    for _ in 0..4 {
        let id = new_id(n.at);
        let insert = Stmt::new(
            format!(
                "INSERT INTO applications ({COLS}, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, '', $7, \
                 $8, NULL, NULL, $9, $10, $11, $7, $11, 1, $13, $14, $12)"
            ),
            vec![
                Val::Int(id),
                Val::Text(n.service_code.clone()),
                Val::Text(n.personal_id.to_string()),
                Val::Text(n.channel.code().into()),
                Val::Text(n.unit.clone()),
                Val::Text(AppState::Submitted.code().into()),
                Val::Ts(n.at),
                Val::Text(n.due_date.to_string()),
                Val::Text(n.scope_province.clone()),
                Val::Text(n.scope_commune.clone()),
                Val::Text(n.actor.clone()),
                Val::Text(n.idempotency_key.clone()),
                Val::Text(n.payload.to_string()),
                Val::OptText(n.consent_from.map(|p| p.to_string())),
            ],
        )
        .on_unique(StoreError::Conflict(duplicate()));
        let event = event_stmt(id, "", AppState::Submitted, "", n.at, &n.actor);
        match store.exec().transaction_combined(vec![insert, event]).await {
            Ok(()) => return Ok((submitted(id, n), true)),
            Err(StoreError::Conflict(_)) => {
                // The same key committed concurrently, or (rarely) an id another server drew.
                if let Some(first) = by_key(store, &n.personal_id, &n.idempotency_key).await? {
                    return same_request(first, n);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(duplicate()))
}

/// 2025-01-01T00:00:00Z, where application ids' clock starts.
const ID_EPOCH_MS: i64 = 1_735_689_600_000;

/// A new application's id: the milliseconds since [`ID_EPOCH_MS`] in the high 41 bits (until
/// 2094), 12 random bits below. Below 2⁵³ (exact in JavaScript), allocated without a round
/// trip to the database, and saying nothing about how many applications there are.
///
/// Ids follow time so that a batch of new submissions and the moves of recent ones touch
/// the last pages of the table and of the events' `(application_id, seq)` key: with ids
/// drawn from the whole range, every insert dirtied a page of its own and split pages all
/// over the tree (BENCHMARKS.md, issue 14).
///
/// One process never draws the same low bits twice in a millisecond ([`LowBits`]): with
/// independent draws, a batch of 30 submissions of one millisecond held two equal ids one
/// time in ten, and the whole batch was run again with savepoints on PostgreSQL
/// (`postgres::exec::run_groups`). Servers sharing a database can still draw the same id;
/// the insert's unique violation then sends [`create`] round its loop with another.
fn new_id(at: Timestamp) -> i64 {
    let ms = (at.timestamp_millis() - ID_EPOCH_MS).clamp(0, (1 << 41) - 1);
    let low = LOW_BITS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).draw(ms);
    ((ms << 12) | i64::from(low)).max(1)
}

/// The low bits drawn per millisecond, for the last milliseconds seen (requests' times are
/// not quite in order, so more than the latest is kept).
#[derive(Default)]
struct LowBits {
    by_ms: std::collections::HashMap<i64, std::collections::HashSet<u16>>,
}

static LOW_BITS: std::sync::LazyLock<std::sync::Mutex<LowBits>> = std::sync::LazyLock::new(Default::default);

impl LowBits {
    /// 12 random bits not yet drawn in `ms` (any, once all 4,096 are taken).
    fn draw(&mut self, ms: i64) -> u16 {
        // Pruned now and then, not at every new millisecond: the sets of the last 50 ms stay.
        if self.by_ms.len() > 128 && !self.by_ms.contains_key(&ms) {
            self.by_ms.retain(|seen, _| (ms - 50..=ms + 50).contains(seen));
        }
        let drawn = self.by_ms.entry(ms).or_default();
        loop {
            let low = (rand::random::<u16>()) & 0xfff;
            if drawn.len() >= 4096 || drawn.insert(low) {
                return low;
            }
        }
    }
}

/// The row `create` has just stored, as `get` would read it.
fn submitted(id: i64, n: &NewApplication) -> Application {
    Application {
        id,
        service_code: n.service_code.clone(),
        personal_id: n.personal_id,
        channel: n.channel,
        unit: n.unit.clone(),
        state: AppState::Submitted,
        state_reason: String::new(),
        submitted_at: n.at,
        due_date: n.due_date,
        decided_at: None,
        on_time: None,
        overdue: dancu_domain::application::overdue(AppState::Submitted, n.due_date, today()),
        scope_province: n.scope_province.clone(),
        scope_commune: n.scope_commune.clone(),
        created_by: n.actor.clone(),
        updated_at: n.at,
        updated_by: n.actor.clone(),
        version: 1,
        payload: n.payload.clone(),
        consent_from: n.consent_from,
    }
}

/// The first application under a key, if the retried request is the same one (same
/// service and channel); a key reused for another request is refused.
fn same_request(first: Application, n: &NewApplication) -> Result<(Application, bool)> {
    if first.service_code == n.service_code && first.channel == n.channel {
        return Ok((first, false));
    }
    Err(StoreError::Conflict(Violation::new(
        "idempotency_key",
        "application.idempotency_key_reused",
        "Khóa chống gửi trùng đã dùng cho một hồ sơ khác",
        "the idempotency key was already used for a different application",
    )))
}

fn duplicate() -> Violation {
    Violation::new(
        "idempotency_key",
        "application.duplicate",
        "Hồ sơ trùng, vui lòng gửi lại",
        "duplicate application, please retry",
    )
}

fn event_stmt(id: i64, from: &str, to: AppState, reason: &str, at: Timestamp, actor: &str) -> Stmt {
    Stmt::new(
        "INSERT INTO application_events (application_id, seq, from_state, to_state, reason, at, actor) \
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM application_events WHERE application_id = $1), \
         $2, $3, $4, $5, $6)",
        vec![
            Val::Int(id),
            Val::Text(from.into()),
            Val::Text(to.code().into()),
            Val::Text(reason.into()),
            Val::Ts(at),
            Val::Text(actor.into()),
        ],
    )
}

fn stale() -> StoreError {
    StoreError::Conflict(Violation::new(
        "expected_version",
        "application.stale_version",
        "Hồ sơ đã được người khác thay đổi; tải lại rồi thử lại",
        "the application changed since it was read; reload and retry",
    ))
}

/// Moves `app` (as read, at `app.version`) to `to` with its event, in one transaction
/// (combined with concurrent ones, each under its own savepoint); a concurrent change
/// answers 409. `on_time` is set for a decision.
pub async fn move_to(
    store: &dyn Store,
    app: &Application,
    to: AppState,
    reason: &str,
    at: Timestamp,
    actor: &str,
) -> Result<Application> {
    move_with(store, app, to, reason, at, actor, Vec::new()).await
}

/// A state move: the row at the version read, with what the move sets.
const MOVE_SQL: &str = "UPDATE applications SET state = $2, state_reason = $3, decided_at = $4, \
     on_time = $5, updated_at = $6, updated_by = $7, version = version + 1 WHERE id = $1 AND version = $8";

/// [`move_to`] with the procedure's own writes (`effects`, a completed residence
/// procedure's) in the same transaction: all of them or none.
pub(crate) async fn move_with(
    store: &dyn Store,
    app: &Application,
    to: AppState,
    reason: &str,
    at: Timestamp,
    actor: &str,
    effects: Vec<Stmt>,
) -> Result<Application> {
    let (decided_at, on_time) = if to.is_decision() {
        let d = dancu_domain::date::vietnam_today(at);
        (Some(at), Some(dancu_domain::application::on_time(app.due_date, d)))
    } else {
        (None, None)
    };
    let (decided, on_time_val) =
        (decided_at.map_or(Val::Null, Val::Ts), on_time.map_or(Val::Null, |b| Val::Int(b as i64)));
    let update = Stmt::new(
        MOVE_SQL,
        vec![
            Val::Int(app.id),
            Val::Text(to.code().into()),
            Val::Text(reason.into()),
            decided,
            on_time_val,
            Val::Ts(at),
            Val::Text(actor.into()),
            Val::Int(app.version),
        ],
    )
    .expect_rows(1, stale());
    let event = event_stmt(app.id, app.state.code(), to, reason, at, actor);
    let mut stmts = vec![update, event];
    stmts.extend(effects);
    store.exec().transaction_combined(stmts).await?;
    // The update matched `app` at its version, so the row is `app` with what was set.
    Ok(Application {
        state: to,
        state_reason: reason.into(),
        decided_at,
        on_time,
        overdue: dancu_domain::application::overdue(to, app.due_date, today()),
        updated_at: at,
        updated_by: actor.into(),
        version: app.version + 1,
        ..app.clone()
    })
}

/// An application's transitions, oldest first.
pub async fn events(store: &dyn Store, id: i64) -> Result<Vec<ApplicationEvent>> {
    let rows = store
        .exec()
        .query(
            "SELECT seq, from_state, to_state, reason, at, actor FROM application_events \
             WHERE application_id = $1 ORDER BY seq",
            vec![Val::Int(id)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ApplicationEvent {
                seq: r.int(0)?,
                from_state: r.text(1)?,
                to_state: r.text(2)?,
                reason: r.text(3)?,
                at: r.ts(4)?,
                actor: r.text(5)?,
            })
        })
        .collect()
}

/// The documents attached to an application, in order.
pub async fn documents(store: &dyn Store, id: i64) -> Result<Vec<ApplicationDocument>> {
    let rows = store
        .exec()
        .query(
            "SELECT seq, kind, sha256, media_type, size, reused, at, actor FROM application_documents \
             WHERE application_id = $1 ORDER BY seq",
            vec![Val::Int(id)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ApplicationDocument {
                seq: r.int(0)?,
                kind: r.text(1)?,
                sha256: r.text(2)?,
                media_type: r.text(3)?,
                size: r.int(4)?,
                reused: r.flag(5)?,
                at: r.ts(6)?,
                actor: r.text(7)?,
            })
        })
        .collect()
}

/// How many documents are kept (bytes stored once) for a citizen.
pub async fn stored_document_count(store: &dyn Store, id: &PersonalId) -> Result<u64> {
    let rows = store
        .exec()
        .query(
            "SELECT COUNT(*) FROM citizen_documents WHERE personal_id = $1",
            vec![Val::Text(id.to_string())],
        )
        .await?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) as u64)
}

/// Attaches a document to `app`: its bytes are stored unless the same file (by SHA-256)
/// was already digitised for the applicant, in which case the stored copy is reused.
pub async fn attach(
    store: &dyn Store,
    app: &Application,
    kind: &str,
    media_type: &str,
    bytes: &[u8],
    at: Timestamp,
    actor: &str,
) -> Result<ApplicationDocument> {
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(bytes));
    let pid = Val::Text(app.personal_id.to_string());
    let existing = store
        .exec()
        .query(
            "SELECT COUNT(*) FROM citizen_documents WHERE personal_id = $1 AND sha256 = $2",
            vec![pid.clone(), Val::Text(sha.clone())],
        )
        .await?;
    let reused = existing.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) > 0;
    let mut stmts = Vec::new();
    if !reused {
        stmts.push(Stmt::new(
            "INSERT INTO citizen_documents (personal_id, sha256, media_type, size, bytes_hex, stored_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            vec![
                pid.clone(),
                Val::Text(sha.clone()),
                Val::Text(media_type.into()),
                Val::Int(bytes.len() as i64),
                Val::Text(hex::encode(bytes)),
                Val::Ts(at),
            ],
        ));
    }
    stmts.push(Stmt::new(
        "INSERT INTO application_documents (application_id, seq, kind, personal_id, sha256, media_type, \
         size, reused, at, actor) VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM application_documents \
         WHERE application_id = $1), $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            Val::Int(app.id),
            Val::Text(kind.into()),
            pid,
            Val::Text(sha.clone()),
            Val::Text(media_type.into()),
            Val::Int(bytes.len() as i64),
            Val::Int(reused as i64),
            Val::Ts(at),
            Val::Text(actor.into()),
        ],
    ));
    store.exec().transaction(stmts).await?;
    let docs = documents(store, app.id).await?;
    docs.into_iter().rev().find(|d| d.sha256 == sha).ok_or(StoreError::NotFound)
}

fn filter_where(scope: &Scope, f: &QueueFilter, today: NaiveDate) -> (String, Vec<Val>) {
    let (mut cond, mut params) = rows::scope_where(scope, "scope_{level} = #", 1);
    if let Some(s) = f.state {
        params.push(Val::Text(s.code().into()));
        cond += &format!(" AND state = ${}", params.len());
    }
    if let Some(code) = &f.service_code {
        params.push(Val::Text(code.clone()));
        cond += &format!(" AND service_code = ${}", params.len());
    }
    if let Some(id) = &f.personal_id {
        params.push(Val::Text(id.to_string()));
        cond += &format!(" AND personal_id = ${}", params.len());
    }
    // Open work, and one open state, read the open-work partial indexes of 0035 (the only
    // indexes that order a scope's open applications by due date, and carry the state);
    // the planners use them only when the query repeats their condition word for word.
    if f.state.map_or(f.open_only, AppState::is_open) {
        cond += &format!(" AND {}", open_condition());
    }
    if f.overdue_only {
        params.push(Val::Text(today.to_string()));
        cond += &format!(" AND {} AND due_date < ${}", open_condition(), params.len());
    }
    (cond, params)
}

/// The total of a queue. Every state of a province or of the nation, with or without a
/// service, is the sum of the month rollup (`application_month_counts`, migration 0028: kept
/// by triggers in the transaction of every write, so the same number as `COUNT(*)`) instead
/// of a count of up to every application of the country on each page; `cond` then names
/// only the scope's province and the service, which the rollup has too. Any other queue is
/// counted directly: a commune's rows are few, and the other filters read the open work.
fn count_sql(scope: &Scope, f: &QueueFilter, cond: &str) -> String {
    // Every field named: a filter added later must be placed here, in the rollup or not.
    let QueueFilter { state, service_code: _, overdue_only, open_only, personal_id } = f;
    let every_state = state.is_none() && !open_only && !overdue_only && personal_id.is_none();
    if every_state && !matches!(scope, Scope::Commune(_)) {
        format!(
            "SELECT CAST(COALESCE(SUM(received), 0) AS BIGINT) FROM application_month_counts WHERE {cond}"
        )
    } else {
        format!("SELECT COUNT(*) FROM applications WHERE {cond}")
    }
}

/// A queue page's rows: the page's ids are chosen by a query that needs only an index, then
/// their rows are read by key. Asked for whole rows at once, SQLite costs the open-work
/// index (which can test the state) and the scope's due-date index (which cannot) the same,
/// since both need the table for the rows, and takes whichever the schema lists first: the
/// due-date index after a rebuild of the indexes, reading a province's every application
/// for one state's page (62–80 ms p95, BENCHMARKS.md). Asked for ids only, the open-work
/// index is the only one that covers the query.
fn page_sql(cond: &str) -> String {
    format!(
        "SELECT {COLS} FROM applications WHERE id IN (SELECT id FROM applications WHERE {cond} \
         ORDER BY due_date, id {page}) ORDER BY due_date, id",
        page = crate::exec::PAGE_CLAUSE
    )
}

/// A work queue in `scope`: soonest due first (the overdue ones lead), then by id.
pub async fn list(
    store: &dyn Store,
    scope: &Scope,
    f: &QueueFilter,
    limit: u32,
    offset: u64,
) -> Result<Page<Application>> {
    let t = today();
    let (cond, params) = filter_where(scope, f, t);
    crate::exec::page(
        store.exec(),
        &count_sql(scope, f, &cond),
        &page_sql(&cond),
        params,
        limit,
        offset,
        |r| app_from(r, t),
    )
    .await
}

/// Counts per service, channel, unit, state, timeliness and overdue, in `scope`.
pub async fn counts(store: &dyn Store, scope: &Scope) -> Result<Vec<ApplicationCount>> {
    let (cond, mut params) = rows::scope_where(scope, "scope_{level} = #", 1);
    params.push(Val::Text(today().to_string()));
    let overdue =
        format!("CASE WHEN state IN ({}) AND due_date < ${} THEN 1 ELSE 0 END", open_list(), params.len());
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT service_code, channel, unit, state, on_time, {overdue} AS overdue, COUNT(*) \
                 FROM applications WHERE {cond} GROUP BY 1, 2, 3, 4, 5, 6 \
                 ORDER BY 1, 2, 3, 4, 5, 6"
            ),
            params,
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ApplicationCount {
                service_code: r.text(0)?,
                channel: Channel::from_code(&r.text(1)?).map_err(|v| rows::corrupt("channel", v))?,
                unit: r.text(2)?,
                state: AppState::from_code(&r.text(3)?).map_err(|v| rows::corrupt("state", v))?,
                on_time: r.opt_int(4)?.map(|n| n != 0),
                overdue: r.int(5)? != 0,
                count: r.int(6)? as u64,
            })
        })
        .collect()
}

#[cfg(test)]
mod open_index_tests {
    /// The partial indexes of migration 0035 serve the queue only if their condition is
    /// the one the queue writes.
    #[test]
    fn open_indexes_use_the_queue_condition() {
        let cond = format!("WHERE {}", super::open_condition());
        for sql in [
            include_str!("../migrations/sqlite/0035_open_condition_without_in.sql"),
            include_str!("../migrations/postgres/0035_open_condition_without_in.sql"),
        ] {
            assert_eq!(sql.matches(&cond).count(), 4, "{sql}");
        }
    }

    /// A state move's UPDATE checks the open-work indexes' condition, for the old and the
    /// new row, without building a temporary b-tree, as SQLite does for an IN list of more
    /// than two constants (migration 0035).
    #[tokio::test]
    async fn sqlite_state_move_builds_no_temporary_btree() {
        use crate::exec::SqlExec;
        use crate::rows::RowGet;
        let (_dir, store) = crate::sqlite::migrated_temp().await;
        let rows = store
            .query(&format!("EXPLAIN {}", super::MOVE_SQL), vec![crate::rows::Val::Null; 8])
            .await
            .unwrap();
        let ops: Vec<String> = rows.iter().map(|r| r.text(1).unwrap()).collect();
        assert!(ops.iter().any(|o| o == "IdxInsert"), "{ops:?}");
        assert!(!ops.iter().any(|o| o == "OpenEphemeral"), "{ops:?}");
    }

    /// Every queue the officer's page offers (open work, overdue, one open state, one
    /// service) is read in due-date order from an open-work index, and counted from that
    /// index alone, on every scope; a decided state's list reads a (scope, due date) index.
    /// What keeps the queues fast without the (scope, state, due date) indexes (0034).
    #[tokio::test]
    async fn sqlite_queues_read_an_index_in_due_date_order() {
        use super::*;
        use crate::exec::SqlExec;
        use crate::sqlite::{migrated_temp, query_plan};
        let (_dir, store) = migrated_temp().await;
        // The scopes' due-date indexes rebuilt after the open-work ones, as a rebuild of every
        // index lists them (by name): ties between indexes go to the one listed first.
        let rebuilt = ["applications_due", "applications_province_due", "applications_commune_due"];
        for name in rebuilt {
            let def = store
                .query("SELECT sql FROM sqlite_master WHERE name = $1", vec![Val::Text(name.into())])
                .await
                .unwrap();
            let def = def[0].text(0).unwrap();
            let again = [format!("DROP INDEX {name}"), def];
            store.transaction(again.into_iter().map(|sql| Stmt::new(sql, vec![])).collect()).await.unwrap();
        }
        let open = QueueFilter { open_only: true, ..Default::default() };
        let service = QueueFilter { service_code: Some("residence_temporary".into()), ..open.clone() };
        let mut filters = vec![open.clone(), QueueFilter { overdue_only: true, ..open.clone() }, service];
        filters.extend(AppState::OPEN.map(|st| QueueFilter { state: Some(st), ..open.clone() }));
        let decided = QueueFilter { state: Some(AppState::Completed), ..open.clone() };
        let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        for scope in [Scope::Nation, Scope::Province("79".into()), Scope::Commune("26734".into())] {
            for f in filters.iter().chain([&decided]) {
                let (cond, params) = filter_where(&scope, f, day);
                let mut page_params = params.clone();
                page_params.extend([Val::Int(50), Val::Int(0)]);
                let sql = crate::exec::paged_sql(&page_sql(&cond), params.len());
                let list = query_plan(&store, &sql, page_params).await;
                let count = query_plan(&store, &count_sql(&scope, f, &cond), params).await;
                let why = format!("{scope:?} {f:?}: {list:?} {count:?}");
                // The rows by key, for the ids a search of one index gave, sorted again (a
                // page of them).
                assert!(list[0].contains("INTEGER PRIMARY KEY"), "{why}");
                let search =
                    list.iter().find(|l| l.contains(" applications USING ") && !l.contains("PRIMARY"));
                let search = search.unwrap_or_else(|| panic!("{why}"));
                if f.state.is_some_and(|s| !s.is_open()) {
                    assert!(search.contains("_due") && !search.contains("_open_"), "{why}");
                } else if matches!(scope, Scope::Commune(_)) && f.service_code.is_some() {
                    // No index covers a service in a commune: either of the commune's
                    // indexes, read with the table, keeps to that commune's rows.
                    assert!(search.contains("(scope_commune=?)"), "{why}");
                } else {
                    assert!(search.contains("COVERING INDEX applications_open_"), "{why}");
                }
                // A service's open work nation-wide is the one list sorted before its page is
                // taken (its index is by province first): a few thousand rows, not the nation's.
                let sorted = matches!(scope, Scope::Nation) && f.service_code.is_some();
                let sorts = list.iter().filter(|l| l.contains("TEMP B-TREE")).count();
                assert_eq!(sorts, 1 + sorted as usize, "{why}");
                // Counted from an index alone; a province's or the nation's from the open
                // work only (a commune's report index, all its rows, is a few hundred).
                let counted = match scope {
                    Scope::Commune(_) => "COVERING INDEX applications_",
                    _ => "COVERING INDEX applications_open_",
                };
                if f.state.is_none_or(AppState::is_open) {
                    assert!(count.len() == 1 && count[0].contains(counted), "{why}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn ids_follow_time_and_stay_exact_in_javascript() {
        let t = |ms: i64| Utc.timestamp_millis_opt(ID_EPOCH_MS + ms).unwrap();
        // A later millisecond always gives a larger id, whatever the random bits.
        for ms in [0, 1, 86_400_000, 30 * 365 * 86_400_000] {
            let (a, b) = (new_id(t(ms)), new_id(t(ms + 1)));
            assert!(0 < a && a < b, "{a} {b}");
        }
        let last = new_id(Utc.with_ymd_and_hms(2094, 1, 1, 0, 0, 0).unwrap());
        assert!(last < 1 << 53, "{last}");
        assert!(new_id(Utc.with_ymd_and_hms(2300, 1, 1, 0, 0, 0).unwrap()) < 1 << 53);
        assert!(new_id(Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap()) >= 1);
        assert_eq!(new_id(t(5)) >> 12, 5);
        // The low bits are drawn, never twice in a millisecond while any are left: those of
        // one millisecond, alone or interleaved with another's, are all different. (A
        // `LowBits` of its own: tests running beside this one draw from the process's.)
        let mut bits = LowBits::default();
        let same: std::collections::HashSet<u16> = (0..4096).map(|_| bits.draw(5)).collect();
        assert_eq!(same.len(), 4096);
        assert!(bits.draw(5) < 4096, "all taken: any");
        let mixed: std::collections::HashSet<(i64, u16)> =
            (0..2000).map(|i| (7 + i % 2, bits.draw(7 + i % 2))).collect();
        assert_eq!(mixed.len(), 2000);
        let sequential: Vec<u16> = (0..20).map(|_| bits.draw(9)).collect();
        assert!(sequential.windows(2).any(|w| w[1] != w[0] + 1), "drawn, not counted: {sequential:?}");
        // What is kept stays bounded, and holds the recent milliseconds' draws.
        let mut bits = LowBits::default();
        for ms in 0..10_000 {
            bits.draw(ms);
        }
        assert!(bits.by_ms.len() <= 129, "{}", bits.by_ms.len());
        assert!((9_950..10_000).all(|ms| bits.by_ms.get(&ms).is_some_and(|d| d.len() == 1)));
    }
}
