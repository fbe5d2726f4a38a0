//! Linked procedures across agencies (issue 15, parts 1 and 2; docs/CHAINS.md): a birth or
//! death registration sent by a civil-status partner runs as a chain of steps, each with a
//! visible state (migration 0024). This module is the chains' storage, written once for both
//! backends over [`crate::exec::SqlExec`]: the chain row and its history, the lease a step
//! runs under (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two servers never run one chain's
//! step at once), failures with their reason and next attempt, the officers' actions and
//! the board's listings. The steps themselves (the registry's audited writes) are in
//! `registry/chains.rs`.

use std::time::Duration;

use dancu_domain::Violation;
use serde::{Deserialize, Serialize};

use crate::exec::{OwnedRow, Stmt, Val};
use crate::model::{Page, Scope, Timestamp};
use crate::rows::{self, RowGet};
use crate::{Result, Store, StoreError};

/// Which procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChainKind {
    Birth,
    Death,
}

impl ChainKind {
    pub const ALL: [ChainKind; 2] = [ChainKind::Birth, ChainKind::Death];
    pub fn code(self) -> &'static str {
        match self {
            ChainKind::Birth => "birth",
            ChainKind::Death => "death",
        }
    }
    pub fn parse(s: &str) -> Option<ChainKind> {
        ChainKind::ALL.into_iter().find(|k| k.code() == s)
    }
    /// The steps in order; the first is `received`, the last ends the chain.
    pub fn steps(self) -> &'static [&'static str] {
        match self {
            ChainKind::Birth => &BIRTH_STEPS,
            ChainKind::Death => &DEATH_STEPS,
        }
    }
    /// The step after `step` (none after the last or for an unknown one).
    pub fn next(self, step: &str) -> Option<&'static str> {
        let steps = self.steps();
        steps.iter().position(|s| *s == step).and_then(|i| steps.get(i + 1)).copied()
    }
    pub fn last(self) -> &'static str {
        self.steps()[self.steps().len() - 1]
    }
}

pub const BIRTH_STEPS: [&str; 5] =
    ["received", "id_issued", "registered", "residence_registered", "insurance_notified"];
pub const DEATH_STEPS: [&str; 5] =
    ["received", "deceased", "residence_ended", "eid_closed", "partners_notified"];

/// What a civil-status partner sends for a birth (the wire form: strings, checked by the
/// registry). The registration number (Justice's) is the idempotency key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BirthRegistration {
    /// Justice's registration number (1–40 letters, digits, `/`, `.`, `-`).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9/.-]{1,40}$", example = "KS-2026/000123"))]
    pub registration_no: String,
    pub family_name: String,
    #[serde(default)]
    pub middle_name: String,
    pub given_name: String,
    /// `Nam`/`Nữ` or `M`/`F`.
    pub sex: String,
    /// `YYYY-MM-DD` or `DD/MM/YYYY`.
    pub birth_date: String,
    /// Where the birth was registered: `2025:NNNNN` or `legacy:NNNNN`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(2025|legacy):[0-9]{5}$", example = "2025:00004"))]
    pub birth_place: String,
    #[serde(default)]
    pub father_id: String,
    #[serde(default)]
    pub mother_id: String,
    /// The parent (father's or mother's personal ID) whose household the child joins and
    /// whose permanent residence the child's follows.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{12}$"))]
    pub household_of: String,
    /// The personal ID's province prefix (2-digit legacy code); by default the province the
    /// birth place was in before 2025.
    #[serde(default)]
    pub id_province: String,
}

/// What a civil-status partner sends for a death.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeathRegistration {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9/.-]{1,40}$", example = "KT-2026/000045"))]
    pub registration_no: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{12}$"))]
    pub personal_id: String,
    /// `YYYY-MM-DD` or `DD/MM/YYYY`.
    pub death_date: String,
    /// Where the death was registered: `2025:NNNNN` or `legacy:NNNNN`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(2025|legacy):[0-9]{5}$"))]
    pub death_place: String,
}

/// Why the current step failed (the exceptions worklist shows it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainError {
    pub step: String,
    pub field: String,
    pub rule: String,
    pub message: String,
}

/// A chain as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Chain {
    pub id: i64,
    pub kind: ChainKind,
    pub registration_no: String,
    pub client_id: String,
    /// The child's personal ID once issued; the deceased's.
    pub personal_id: Option<String>,
    /// The registration as submitted, with officers' corrections.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub request: serde_json::Value,
    /// The last step done.
    pub step: String,
    /// `running`, `done` or `resolved` (closed by an officer).
    pub status: String,
    pub error: Option<ChainError>,
    pub attempts: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub next_at: Timestamp,
    pub scope_province: String,
    pub scope_commune: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<Timestamp>,
    /// The officer's note when resolved by hand.
    pub note: String,
}

impl Chain {
    /// The visible state: the last step done, `failed` while a step fails, `resolved`.
    pub fn state(&self) -> &str {
        match (self.status.as_str(), &self.error) {
            ("resolved", _) => "resolved",
            ("running", Some(_)) => "failed",
            _ => &self.step,
        }
    }
    pub fn is_done(&self) -> bool {
        self.status == "done"
    }
}

/// One entry of a chain's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainStep {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub step: String,
    /// `done`, `failed`, `retry`, `resolved`, `corrected`.
    pub outcome: String,
    pub detail: String,
    pub actor: String,
}

/// How steps are retried and how long a lease lasts.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The first retry's delay; doubled per failed attempt up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a claimed chain is its runner's (a crashed server's claim expires).
    pub lease: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(3600),
            lease: Duration::from_secs(30),
        }
    }
}

impl Timing {
    /// The delay before the attempt after `attempts` failed ones: base · 2^(attempts − 1),
    /// at most `max_backoff`.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let exp = attempts.clamp(1, 30) as u32 - 1;
        self.base_backoff.saturating_mul(1u32 << exp.min(20)).min(self.max_backoff)
    }
}

/// A runner's lease token.
pub fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The states a board filters by: each step, `failed` and `resolved`.
pub fn states(kind: Option<ChainKind>) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for k in kind.map(|k| vec![k]).unwrap_or(ChainKind::ALL.to_vec()) {
        for s in k.steps() {
            if !v.contains(s) {
                v.push(s);
            }
        }
    }
    v.extend(["failed", "resolved"]);
    v
}

const COLS: &str = "id, kind, registration_no, client_id, personal_id, request, step, status, error_step, \
     error_field, error_rule, error_message, attempts, next_at, scope_province, scope_commune, received_at, \
     updated_at, finished_at, note";

fn chain_row(r: &OwnedRow) -> Result<Chain> {
    let kind = r.text(1)?;
    let rule = r.text(10)?;
    Ok(Chain {
        id: r.int(0)?,
        kind: ChainKind::parse(&kind).ok_or_else(|| rows::corrupt("chain kind", kind))?,
        registration_no: r.text(2)?,
        client_id: r.text(3)?,
        personal_id: r.opt_text(4)?,
        request: r.json(5)?,
        step: r.text(6)?,
        status: r.text(7)?,
        error: (!rule.is_empty())
            .then(|| -> Result<ChainError> {
                Ok(ChainError { step: r.text(8)?, field: r.text(9)?, rule, message: r.text(11)? })
            })
            .transpose()?,
        attempts: r.int(12)?,
        next_at: r.ts(13)?,
        scope_province: r.text(14)?,
        scope_commune: r.text(15)?,
        received_at: r.ts(16)?,
        updated_at: r.ts(17)?,
        finished_at: r.opt_ts(18)?,
        note: r.text(19)?,
    })
}

/// A chain to insert.
#[derive(Debug, Clone)]
pub struct NewChain {
    pub kind: ChainKind,
    pub registration_no: String,
    pub client_id: String,
    pub personal_id: Option<String>,
    pub request: serde_json::Value,
    pub scope_province: String,
    pub scope_commune: String,
    pub actor: String,
    pub at: Timestamp,
    /// The lease the receiving request runs the first steps under (token, until), taken
    /// with the insert so that no worker claims the new chain first.
    pub lease: (String, Timestamp),
}

fn history(chain: Val, step: &str, outcome: &str, detail: &str, actor: &str, at: Timestamp) -> Stmt {
    let detail: String = detail.chars().take(1000).collect();
    Stmt::new(
        "INSERT INTO linked_chain_steps (chain_id, at, step, outcome, detail, actor) VALUES ($1, $2, $3, $4, $5, $6)",
        vec![chain, Val::Ts(at), Val::Text(step.into()), Val::Text(outcome.into()), Val::Text(detail), Val::Text(actor.into())],
    )
}

/// Inserts the chain in state `received` with its first history entry, or finds the chain
/// of the same kind and registration number: `(chain, created)`.
pub async fn insert(store: &dyn Store, c: &NewChain) -> Result<(Chain, bool)> {
    let taken = StoreError::Conflict(Violation::new(
        "registration_no",
        "chain.exists",
        "Số đăng ký đã được tiếp nhận",
        "the registration number was received before",
    ));
    let insert = Stmt::new(
        "INSERT INTO linked_chains (kind, registration_no, client_id, personal_id, request, step, status, \
         next_at, scope_province, scope_commune, received_at, updated_at, lease_token, lease_until) \
         VALUES ($1, $2, $3, $4, $5, 'received', 'running', $6, $7, $8, $6, $6, $9, $10) \
         ON CONFLICT (kind, registration_no) DO NOTHING",
        vec![
            Val::Text(c.kind.code().into()),
            Val::Text(c.registration_no.clone()),
            Val::Text(c.client_id.clone()),
            Val::OptText(c.personal_id.clone()),
            Val::Text(serde_json::to_string(&c.request)?),
            Val::Ts(c.at),
            Val::Text(c.scope_province.clone()),
            Val::Text(c.scope_commune.clone()),
            Val::Text(c.lease.0.clone()),
            Val::Ts(c.lease.1),
        ],
    )
    .expect_rows(1, taken);
    let first = Stmt::new(
        "INSERT INTO linked_chain_steps (chain_id, at, step, outcome, detail, actor) \
         SELECT id, $3, 'received', 'done', $4, $5 FROM linked_chains WHERE kind = $1 AND registration_no = $2",
        vec![
            Val::Text(c.kind.code().into()),
            Val::Text(c.registration_no.clone()),
            Val::Ts(c.at),
            Val::Text(format!("số đăng ký {}", c.registration_no)),
            Val::Text(c.actor.clone()),
        ],
    );
    let created = match store.exec().transaction(vec![insert, first]).await {
        Ok(()) => true,
        Err(StoreError::Conflict(v)) if v.rule == "chain.exists" => false,
        Err(e) => return Err(e),
    };
    let chain = get(store, c.kind, &c.registration_no).await?.ok_or(StoreError::NotFound)?;
    Ok((chain, created))
}

pub async fn get(store: &dyn Store, kind: ChainKind, registration_no: &str) -> Result<Option<Chain>> {
    let rows = store
        .exec()
        .query_point(
            &format!("SELECT {COLS} FROM linked_chains WHERE kind = $1 AND registration_no = $2"),
            vec![Val::Text(kind.code().into()), Val::Text(registration_no.into())],
        )
        .await?;
    rows.first().map(chain_row).transpose()
}

pub async fn get_by_id(store: &dyn Store, id: i64) -> Result<Option<Chain>> {
    let rows = store
        .exec()
        .query_point(&format!("SELECT {COLS} FROM linked_chains WHERE id = $1"), vec![Val::Int(id)])
        .await?;
    rows.first().map(chain_row).transpose()
}

/// A chain's history, oldest first.
pub async fn steps(store: &dyn Store, id: i64) -> Result<Vec<ChainStep>> {
    let rows = store
        .exec()
        .query(
            "SELECT at, step, outcome, detail, actor FROM linked_chain_steps WHERE chain_id = $1 ORDER BY id",
            vec![Val::Int(id)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ChainStep {
                at: r.ts(0)?,
                step: r.text(1)?,
                outcome: r.text(2)?,
                detail: r.text(3)?,
                actor: r.text(4)?,
            })
        })
        .collect()
}

fn lease_lost() -> StoreError {
    StoreError::Conflict(Violation::new(
        "chain",
        "chain.lease_lost",
        "Một tiến trình khác đang xử lý chuỗi thủ tục này",
        "another process is running this chain",
    ))
}

/// Claims up to `limit` running chains whose next attempt is due and whose lease is free
/// (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two servers never claim the same chain).
pub async fn claim_due(
    store: &dyn Store,
    token: &str,
    now: Timestamp,
    until: Timestamp,
    limit: u32,
) -> Result<Vec<Chain>> {
    let lock = if store.backend() == "postgres" { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE linked_chains SET lease_token = $1, lease_until = $2 WHERE id IN (\
           SELECT id FROM linked_chains WHERE status = 'running' AND next_at <= $3 \
             AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_at LIMIT $4{lock})"
    );
    store
        .exec()
        .transaction(vec![Stmt::new(
            sql,
            vec![Val::Text(token.into()), Val::Ts(until), Val::Ts(now), Val::Int(limit.into())],
        )])
        .await?;
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT {COLS} FROM linked_chains WHERE lease_token = $1 AND status = 'running' ORDER BY id"
            ),
            vec![Val::Text(token.into())],
        )
        .await?;
    rows.iter().map(chain_row).collect()
}

/// Statements that record step `to` done (after `from`, under lease `token`), clearing any
/// failure: the chain ends (`done`) at its last step. Run in the transaction of the step's
/// own writes where it has them, so the state and the change commit together.
pub fn advance(
    c: &Chain,
    token: &str,
    to: &str,
    personal_id: Option<&str>,
    detail: &str,
    actor: &str,
    at: Timestamp,
) -> Vec<Stmt> {
    let done = c.kind.last() == to;
    let update = Stmt::new(
        "UPDATE linked_chains SET step = $3, personal_id = COALESCE(personal_id, $4), \
         status = $5, error_step = '', error_field = '', error_rule = '', error_message = '', \
         updated_at = $6, finished_at = $7, next_at = $6 \
         WHERE id = $1 AND lease_token = $2 AND step = $8 AND status = 'running'",
        vec![
            Val::Int(c.id),
            Val::Text(token.into()),
            Val::Text(to.into()),
            Val::OptText(personal_id.map(str::to_string)),
            Val::Text(if done { "done" } else { "running" }.into()),
            Val::Ts(at),
            if done { Val::Ts(at) } else { Val::Null },
            Val::Text(c.step.clone()),
        ],
    )
    .expect_rows(1, lease_lost());
    vec![update, history(Val::Int(c.id), to, "done", detail, actor, at)]
}

/// Records that the step after `c.step` failed with `v` (or a store failure): attempts + 1,
/// the next attempt at `next_at`, the lease released. A history entry is written for the
/// first failure and whenever the reason changes, not for every retry of the same one.
pub async fn fail(
    store: &dyn Store,
    c: &Chain,
    token: &str,
    v: &Violation,
    next_at: Timestamp,
    actor: &str,
    at: Timestamp,
) -> Result<()> {
    let step = c.kind.next(&c.step).unwrap_or("");
    let mut stmts = vec![Stmt::new(
        "UPDATE linked_chains SET error_step = $3, error_field = $4, error_rule = $5, error_message = $6, \
         attempts = attempts + 1, next_at = $7, updated_at = $8, lease_token = NULL, lease_until = NULL \
         WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        vec![
            Val::Int(c.id),
            Val::Text(token.into()),
            Val::Text(step.into()),
            Val::Text(v.field.clone()),
            Val::Text(v.rule.into()),
            Val::Text(format!("{} / {}", v.message_vi, v.message_en)),
            Val::Ts(next_at),
            Val::Ts(at),
        ],
    )
    .expect_rows(1, lease_lost())];
    if c.error.as_ref().is_none_or(|e| e.rule != v.rule || e.field != v.field) {
        let detail = format!("{} ({}: {})", v.message_vi, v.field, v.rule);
        stmts.push(history(Val::Int(c.id), step, "failed", &detail, actor, at));
    }
    store.exec().transaction(stmts).await
}

/// Gives the lease back (the chain ended, or the runner stops).
pub async fn release(store: &dyn Store, id: i64, token: &str) -> Result<()> {
    store.exec().transaction(vec![release_stmt(id, token)]).await
}

/// The statement of [`release`], for the transaction of a chain's last step.
pub fn release_stmt(id: i64, token: &str) -> Stmt {
    Stmt::new(
        "UPDATE linked_chains SET lease_token = NULL, lease_until = NULL WHERE id = $1 AND lease_token = $2",
        vec![Val::Int(id), Val::Text(token.into())],
    )
}

/// Moves a chain's scope (once the person it concerns is known).
pub fn rescope(id: i64, province: &str, commune: &str) -> Stmt {
    Stmt::new(
        "UPDATE linked_chains SET scope_province = $2, scope_commune = $3 WHERE id = $1",
        vec![Val::Int(id), Val::Text(province.into()), Val::Text(commune.into())],
    )
}

fn not_running() -> StoreError {
    StoreError::Conflict(Violation::new(
        "chain",
        "chain.not_running",
        "Chuỗi thủ tục đã kết thúc",
        "the chain has ended",
    ))
}

/// An officer's action on a running chain: `retry` (the next attempt now), `resolved`
/// (closed by hand with `note`), or `corrected` (`request` replaced, retried now).
pub async fn officer_action(
    store: &dyn Store,
    id: i64,
    action: &str,
    note: &str,
    request: Option<&serde_json::Value>,
    actor: &str,
    at: Timestamp,
) -> Result<()> {
    let update = match action {
        "resolved" => Stmt::new(
            "UPDATE linked_chains SET status = 'resolved', note = $2, updated_at = $3, finished_at = $3, \
             lease_token = NULL, lease_until = NULL WHERE id = $1 AND status = 'running'",
            vec![Val::Int(id), Val::Text(note.into()), Val::Ts(at)],
        ),
        "corrected" => Stmt::new(
            "UPDATE linked_chains SET request = $2, next_at = $3, updated_at = $3 WHERE id = $1 AND status = 'running'",
            vec![
                Val::Int(id),
                Val::Text(serde_json::to_string(request.unwrap_or(&serde_json::Value::Null))?),
                Val::Ts(at),
            ],
        ),
        _ => Stmt::new(
            "UPDATE linked_chains SET next_at = $2, updated_at = $2 WHERE id = $1 AND status = 'running'",
            vec![Val::Int(id), Val::Ts(at)],
        ),
    }
    .expect_rows(1, not_running());
    let c = get_by_id(store, id).await?.ok_or(StoreError::NotFound)?;
    let step = c.kind.next(&c.step).unwrap_or(&c.step).to_string();
    store.exec().transaction(vec![update, history(Val::Int(id), &step, action, note, actor, at)]).await
}

/// What a board lists.
#[derive(Debug, Clone, Default)]
pub struct ChainFilter {
    pub kind: Option<ChainKind>,
    /// A step, `failed` or `resolved`.
    pub state: Option<String>,
    pub limit: u32,
    pub offset: u64,
}

/// The SQL condition of a visible state.
fn state_cond(state: &str, n: usize) -> (String, Option<Val>) {
    match state {
        "failed" => ("status = 'running' AND error_rule <> ''".into(), None),
        "resolved" => ("status = 'resolved'".into(), None),
        s => (format!("step = ${n} AND status <> 'resolved' AND error_rule = ''"), Some(Val::Text(s.into()))),
    }
}

/// Chains in `scope` (where the person lives, else where the event was registered), newest
/// first.
pub async fn list(store: &dyn Store, scope: &Scope, f: &ChainFilter) -> Result<Page<Chain>> {
    let (cond, mut params) = rows::scope_where(scope, "scope_{level} = #", 1);
    let mut conds = vec![cond];
    if let Some(k) = f.kind {
        params.push(Val::Text(k.code().into()));
        conds.push(format!("kind = ${}", params.len()));
    }
    if let Some(s) = f.state.as_deref() {
        let (c, v) = state_cond(s, params.len() + 1);
        params.extend(v);
        conds.push(c);
    }
    let base = format!("FROM linked_chains WHERE {}", conds.join(" AND "));
    crate::exec::page(
        store.exec(),
        &format!("SELECT count(*) {base}"),
        &format!("SELECT {COLS} {base} ORDER BY id DESC"),
        params,
        f.limit,
        f.offset,
        chain_row,
    )
    .await
}

/// Chains per (kind, visible state) in `scope`, for the board's columns.
pub async fn counts(store: &dyn Store, scope: &Scope) -> Result<Vec<(ChainKind, String, u64)>> {
    let (cond, params) = rows::scope_where(scope, "scope_{level} = #", 1);
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT kind, CASE WHEN status = 'resolved' THEN 'resolved' \
                   WHEN status = 'running' AND error_rule <> '' THEN 'failed' ELSE step END AS s, count(*) \
                 FROM linked_chains WHERE {cond} GROUP BY kind, s ORDER BY kind, s"
            ),
            params,
        )
        .await?;
    rows.iter()
        .map(|r| {
            let k = r.text(0)?;
            Ok((
                ChainKind::parse(&k).ok_or_else(|| rows::corrupt("chain kind", k))?,
                r.text(1)?,
                u64::try_from(r.int(2)?).map_err(|e| rows::corrupt("count", e))?,
            ))
        })
        .collect()
}

/// The statement that writes a chain's change-feed event (the outbox the feed reads,
/// migration 0020) in the transaction of its last step.
pub fn event(
    backend: &str,
    kind: &str,
    personal_id: &str,
    province: &str,
    commune: &str,
    payload: &serde_json::Map<String, serde_json::Value>,
    at: Timestamp,
) -> Result<Stmt> {
    let json = if backend == "postgres" { "CAST($5 AS jsonb)" } else { "$5" };
    Ok(Stmt::new(
        format!(
            "INSERT INTO outbox (kind, personal_id, province, commune, payload, occurred_at) \
             VALUES ($1, $2, $3, $4, {json}, $6)"
        ),
        vec![
            Val::Text(kind.into()),
            Val::Text(personal_id.into()),
            Val::Text(province.into()),
            Val::Text(commune.into()),
            Val::Text(serde_json::to_string(payload)?),
            Val::Ts(at),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let t = Timing {
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
            lease: Duration::from_secs(30),
        };
        let waits: Vec<u64> = (1..=7).map(|n| t.backoff(n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(t.backoff(1_000).as_secs(), 60);
    }

    #[test]
    fn steps_follow_in_order() {
        assert_eq!(ChainKind::Birth.next("received"), Some("id_issued"));
        assert_eq!(ChainKind::Birth.next("insurance_notified"), None);
        assert_eq!(ChainKind::Death.next("eid_closed"), Some("partners_notified"));
        assert_eq!(ChainKind::Death.last(), "partners_notified");
        let s = states(None);
        assert!(s.contains(&"failed") && s.contains(&"resolved") && s.contains(&"deceased"));
    }
}
