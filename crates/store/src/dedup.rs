//! Registry deduplication: candidate pairs found by the matching engine, with their
//! evidence; an officer merges a pair (one personal ID kept, the other marked merged into it,
//! every reference moved and recorded) or rejects it (never proposed again); an
//! administrator can undo a merge. Written once for both backends over
//! [`crate::exec::SqlExec`]; the audited entry points are in [`crate::registry`].

use dancu_domain::{PersonalId, Violation};
use serde::{Deserialize, Serialize};

use crate::exec::{OwnedRow, Stmt, Val};
use crate::model::{Page, Scope, Timestamp};
use crate::rows::{self, RowGet};
use crate::{Result, Store, StoreError};

/// What one field contributed to a pair's weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    pub field: String,
    /// Comparison level (`exact`, `day_month_swapped`, `missing`, …).
    pub level: String,
    /// log2 Bayes factor.
    pub weight: f64,
}

/// A pair the engine proposes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCandidate {
    pub left: PersonalId,
    pub right: PersonalId,
    pub weight: f64,
    pub probability: f64,
    pub evidence: Vec<Evidence>,
}

/// A stored candidate pair with both holders' names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: i64,
    pub left: PersonalId,
    pub right: PersonalId,
    pub left_name: String,
    pub right_name: String,
    pub weight: f64,
    pub probability: f64,
    pub evidence: Vec<Evidence>,
    pub left_province: String,
    pub left_commune: String,
    pub right_province: String,
    pub right_commune: String,
    /// `open`, `merged` or `rejected`.
    pub status: String,
    pub found_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<String>,
    pub reason: String,
}

/// One record of a pair, as shown to an officer who covers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairSide {
    pub personal_id: PersonalId,
    pub name: String,
    pub province: String,
    pub commune: String,
}

/// A candidate pair as the caller may see it. A record outside the caller's scope is
/// masked (`None`: no ID, name or unit), and so is the evidence, which would tell whether
/// its birth date and sex agree; the weight says only that a similar record exists
/// elsewhere. Only a caller who covers both records may decide (`decidable`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairView {
    pub id: i64,
    pub left: Option<PairSide>,
    pub right: Option<PairSide>,
    pub weight: f64,
    pub probability: f64,
    pub evidence: Vec<Evidence>,
    /// `open`, `merged` or `rejected`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::pair_status))]
    pub status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub found_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<String>,
    pub reason: String,
    pub decidable: bool,
}

impl PairView {
    /// `c` as seen by a caller covering the left record (`left`) and the right one (`right`).
    pub fn of(c: Candidate, left: bool, right: bool) -> PairView {
        let both = left && right;
        PairView {
            id: c.id,
            left: left.then_some(PairSide {
                personal_id: c.left,
                name: c.left_name,
                province: c.left_province,
                commune: c.left_commune,
            }),
            right: right.then_some(PairSide {
                personal_id: c.right,
                name: c.right_name,
                province: c.right_province,
                commune: c.right_commune,
            }),
            weight: c.weight,
            probability: c.probability,
            evidence: if both { c.evidence } else { Vec::new() },
            status: c.status,
            found_at: c.found_at,
            decided_at: c.decided_at,
            decided_by: c.decided_by,
            reason: c.reason,
            decidable: both,
        }
    }

    /// The records shown, left first.
    pub fn sides(&self) -> impl Iterator<Item = &PairSide> {
        self.left.iter().chain(self.right.iter())
    }
}

/// Found / merged / rejected / remaining in one commune (of the pair's left record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DedupCount {
    pub commune: String,
    pub found: u64,
    pub merged: u64,
    pub rejected: u64,
    pub remaining: u64,
}

/// Everything a merge moved, so that it can be undone exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Moved {
    pub father_of: Vec<String>,
    pub mother_of: Vec<String>,
    pub spouse_of: Vec<String>,
    pub applications: Vec<i64>,
    pub cards: Vec<i64>,
    /// The merged record's household and relation, if it had one.
    pub household: Option<(String, String)>,
    /// Whether the kept record took the merged one's place in that household.
    pub household_to_kept: bool,
}

/// A merge as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Merge {
    pub id: i64,
    pub candidate_id: i64,
    pub kept: PersonalId,
    pub merged: PersonalId,
    pub moved: Moved,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub undone_at: Option<Timestamp>,
}

/// A pair is in a scope when either side is.
const PAIR_SCOPE: &str = "(d.left_{level} = # OR d.right_{level} = #)";

const CANDIDATE_SELECT: &str =
    "SELECT d.id, d.left_id, d.right_id, l.full_name, r.full_name, d.weight_milli, \
     d.probability, d.evidence, d.left_province, d.left_commune, d.right_province, d.right_commune, d.status, \
     d.found_at, d.decided_at, d.decided_by, d.reason FROM dedup_candidates d JOIN citizens l ON l.personal_id = d.left_id \
     JOIN citizens r ON r.personal_id = d.right_id";

fn candidate_from(r: &OwnedRow) -> Result<Candidate> {
    Ok(Candidate {
        id: r.int(0)?,
        left: rows::parse_pid(&r.text(1)?)?,
        right: rows::parse_pid(&r.text(2)?)?,
        left_name: r.text(3)?,
        right_name: r.text(4)?,
        weight: r.int(5)? as f64 / 1000.0,
        probability: r.text(6)?.parse().unwrap_or(0.0),
        evidence: r.json(7)?,
        left_province: r.text(8)?,
        left_commune: r.text(9)?,
        right_province: r.text(10)?,
        right_commune: r.text(11)?,
        status: r.text(12)?,
        found_at: r.ts(13)?,
        decided_at: r.opt_ts(14)?,
        decided_by: r.opt_text(15)?,
        reason: r.text(16)?,
    })
}

async fn ids(store: &dyn Store, sql: &str, id: &PersonalId) -> Result<Vec<String>> {
    let rows = store.exec().query(sql, vec![Val::Text(id.to_string())]).await?;
    rows.iter().map(|r| r.text(0)).collect()
}

async fn int_ids(store: &dyn Store, sql: &str, id: &PersonalId) -> Result<Vec<i64>> {
    let rows = store.exec().query(sql, vec![Val::Text(id.to_string())]).await?;
    rows.iter().map(|r| r.int(0)).collect()
}

async fn count(store: &dyn Store, sql: &str) -> Result<u64> {
    let rows = store.exec().query(sql, vec![]).await?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) as u64)
}

/// Stores proposed pairs that are not stored yet (in either order); returns how many were
/// new. Pairs once rejected or merged are never proposed again.
pub async fn add_candidates(store: &dyn Store, pairs: &[NewCandidate], at: Timestamp) -> Result<u64> {
    let before = count(store, "SELECT COUNT(*) FROM dedup_candidates").await?;
    for chunk in pairs.chunks(2_000) {
        let mut stmts = Vec::with_capacity(chunk.len());
        for p in chunk {
            let (l, r) =
                if p.left.as_str() < p.right.as_str() { (&p.left, &p.right) } else { (&p.right, &p.left) };
            stmts.push(Stmt::new(
                "INSERT INTO dedup_candidates (left_id, right_id, weight_milli, probability, evidence, \
                 left_province, left_commune, right_province, right_commune, status, found_at) \
                 VALUES ($1, $2, $3, $4, $5, (SELECT scope_province FROM citizens WHERE personal_id = $1), \
                 (SELECT scope_commune FROM citizens WHERE personal_id = $1), \
                 (SELECT scope_province FROM citizens WHERE personal_id = $2), \
                 (SELECT scope_commune FROM citizens WHERE personal_id = $2), 'open', $6) \
                 ON CONFLICT (left_id, right_id) DO NOTHING",
                vec![
                    Val::Text(l.to_string()),
                    Val::Text(r.to_string()),
                    Val::Int((p.weight * 1000.0).round() as i64),
                    Val::Text(format!("{:.6}", p.probability)),
                    Val::Text(serde_json::to_string(&p.evidence)?),
                    Val::Ts(at),
                ],
            ));
        }
        store.exec().transaction(stmts).await?;
    }
    Ok(count(store, "SELECT COUNT(*) FROM dedup_candidates").await? - before)
}

pub async fn get(store: &dyn Store, id: i64) -> Result<Option<Candidate>> {
    let rows = store.exec().query(&format!("{CANDIDATE_SELECT} WHERE d.id = $1"), vec![Val::Int(id)]).await?;
    rows.first().map(candidate_from).transpose()
}

/// Candidates with either record in `scope`, optionally in one status, strongest first.
pub async fn list(
    store: &dyn Store,
    scope: &Scope,
    status: Option<&str>,
    limit: u32,
    offset: u64,
) -> Result<Page<Candidate>> {
    let (mut cond, mut params) = rows::scope_where(scope, PAIR_SCOPE, 1);
    if let Some(s) = status {
        params.push(Val::Text(s.into()));
        cond += &format!(" AND d.status = ${}", params.len());
    }
    crate::exec::page(
        store.exec(),
        &format!("SELECT COUNT(*) FROM dedup_candidates d WHERE {cond}"),
        &format!("{CANDIDATE_SELECT} WHERE {cond} ORDER BY d.weight_milli DESC, d.id"),
        params,
        limit,
        offset,
        candidate_from,
    )
    .await
}

/// Found / merged / rejected since `since` (all time when `None`) and remaining, per commune
/// of the pair's left record, in `scope`.
pub async fn counts(store: &dyn Store, scope: &Scope, since: Option<Timestamp>) -> Result<Vec<DedupCount>> {
    let (cond, mut params) = rows::scope_where(scope, PAIR_SCOPE, 1);
    let since = since.unwrap_or(chrono::DateTime::UNIX_EPOCH);
    params.push(Val::Ts(since));
    let s = params.len();
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT d.left_commune, \
                 SUM(CASE WHEN d.found_at >= ${s} THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN d.status = 'merged' AND d.decided_at >= ${s} THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN d.status = 'rejected' AND d.decided_at >= ${s} THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN d.status = 'open' THEN 1 ELSE 0 END) \
                 FROM dedup_candidates d WHERE {cond} GROUP BY d.left_commune ORDER BY d.left_commune"
            ),
            params,
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DedupCount {
                commune: r.text(0)?,
                found: r.int(1)? as u64,
                merged: r.int(2)? as u64,
                rejected: r.int(3)? as u64,
                remaining: r.int(4)? as u64,
            })
        })
        .collect()
}

fn already_decided() -> StoreError {
    StoreError::Conflict(Violation::new(
        "status",
        "dedup.decided",
        "Cặp hồ sơ này đã được xử lý",
        "this pair has already been decided",
    ))
}

fn decide_stmt(id: i64, status: &str, by: &str, reason: &str, at: Timestamp) -> Stmt {
    Stmt::new(
        "UPDATE dedup_candidates SET status = $2, decided_by = $3, reason = $4, decided_at = $5 \
         WHERE id = $1 AND status = 'open'",
        vec![
            Val::Int(id),
            Val::Text(status.into()),
            Val::Text(by.into()),
            Val::Text(reason.into()),
            Val::Ts(at),
        ],
    )
    .expect_rows(1, already_decided())
}

/// Marks an open pair as not the same person.
pub async fn reject(store: &dyn Store, id: i64, by: &str, reason: &str, at: Timestamp) -> Result<()> {
    store.exec().transaction(vec![decide_stmt(id, "rejected", by, reason, at)]).await
}

fn moves(from: &str, to: &str, ids: &[String], column: &str) -> Vec<Stmt> {
    ids.iter()
        .map(|id| {
            Stmt::new(
                format!("UPDATE citizens SET {column} = $1 WHERE personal_id = $2 AND {column} = $3"),
                vec![Val::Text(to.into()), Val::Text(id.clone()), Val::Text(from.into())],
            )
        })
        .collect()
}

fn household_stmt(id: &str, h: Option<&(String, String)>) -> Stmt {
    Stmt::new(
        "UPDATE citizens SET household_no = $2, relation = $3 WHERE personal_id = $1",
        vec![
            Val::Text(id.into()),
            h.map_or(Val::Null, |h| Val::Text(h.0.clone())),
            h.map_or(Val::Null, |h| Val::Text(h.1.clone())),
        ],
    )
}

async fn household_of(store: &dyn Store, id: &str) -> Result<Option<(String, String)>> {
    let rows = store
        .exec()
        .query(
            "SELECT household_no, relation FROM citizens WHERE personal_id = $1 AND household_no IS NOT NULL",
            vec![Val::Text(id.into())],
        )
        .await?;
    rows.first().map(|r| Ok((r.text(0)?, r.text(1)?))).transpose()
}

/// Merges an open pair, keeping `keep` (one of the two): parents' and spouses' references,
/// card applications and cards move to the kept record; the kept record takes the merged
/// one's place in its household if it has none (otherwise the merged record leaves it); the
/// merged record stays, marked `merged_into`. Everything moved is recorded for [`undo`].
pub async fn merge(store: &dyn Store, id: i64, keep: &PersonalId, by: &str, at: Timestamp) -> Result<Merge> {
    let c = get(store, id).await?.ok_or(StoreError::NotFound)?;
    if c.status != "open" {
        return Err(already_decided());
    }
    let merged = if *keep == c.left {
        c.right
    } else if *keep == c.right {
        c.left
    } else {
        return Err(StoreError::Invalid(vec![Violation::new(
            "keep",
            "dedup.keep",
            "Số định danh giữ lại phải là một trong hai hồ sơ của cặp",
            "the kept personal ID must be one of the pair",
        )]));
    };
    let (k, m) = (keep.to_string(), merged.to_string());
    let household = household_of(store, &m).await?;
    let moved = Moved {
        father_of: ids(store, "SELECT personal_id FROM citizens WHERE father_id = $1", &merged).await?,
        mother_of: ids(store, "SELECT personal_id FROM citizens WHERE mother_id = $1", &merged).await?,
        spouse_of: ids(store, "SELECT personal_id FROM citizens WHERE spouse_id = $1", &merged).await?,
        applications: int_ids(store, "SELECT id FROM card_applications WHERE personal_id = $1", &merged)
            .await?,
        cards: int_ids(store, "SELECT application_id FROM cards WHERE personal_id = $1", &merged).await?,
        household_to_kept: household.is_some() && household_of(store, &k).await?.is_none(),
        household,
    };
    let mut stmts = vec![decide_stmt(id, "merged", by, "", at)];
    stmts.extend(moves(&m, &k, &moved.father_of, "father_id"));
    stmts.extend(moves(&m, &k, &moved.mother_of, "mother_id"));
    stmts.extend(moves(&m, &k, &moved.spouse_of, "spouse_id"));
    stmts.push(Stmt::new(
        "UPDATE card_applications SET personal_id = $1 WHERE personal_id = $2",
        vec![Val::Text(k.clone()), Val::Text(m.clone())],
    ));
    stmts.push(Stmt::new(
        "UPDATE cards SET personal_id = $1 WHERE personal_id = $2",
        vec![Val::Text(k.clone()), Val::Text(m.clone())],
    ));
    if moved.household.is_some() {
        stmts.push(household_stmt(&m, None));
        if moved.household_to_kept {
            stmts.push(household_stmt(&k, moved.household.as_ref()));
        }
    }
    stmts.push(
        Stmt::new(
            "UPDATE citizens SET merged_into = $1 WHERE personal_id = $2 AND merged_into IS NULL",
            vec![Val::Text(k.clone()), Val::Text(m.clone())],
        )
        .expect_rows(1, already_decided()),
    );
    stmts.push(Stmt::new(
        "INSERT INTO dedup_merges (candidate_id, kept_id, merged_id, moved, at, by_actor) VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            Val::Int(id),
            Val::Text(k),
            Val::Text(m),
            Val::Text(serde_json::to_string(&moved)?),
            Val::Ts(at),
            Val::Text(by.into()),
        ],
    ));
    store.exec().transaction(stmts).await?;
    merge_of(store, id).await?.ok_or(StoreError::NotFound)
}

/// The latest merge of a candidate pair.
pub async fn merge_of(store: &dyn Store, candidate_id: i64) -> Result<Option<Merge>> {
    let rows = store
        .exec()
        .query(
            "SELECT id, candidate_id, kept_id, merged_id, moved, at, by_actor, undone_at FROM dedup_merges \
             WHERE candidate_id = $1 ORDER BY id DESC LIMIT 1",
            vec![Val::Int(candidate_id)],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok(Merge {
                id: r.int(0)?,
                candidate_id: r.int(1)?,
                kept: rows::parse_pid(&r.text(2)?)?,
                merged: rows::parse_pid(&r.text(3)?)?,
                moved: r.json(4)?,
                at: r.ts(5)?,
                by: r.text(6)?,
                undone_at: r.opt_ts(7)?,
            })
        })
        .transpose()
}

/// Undoes the merge of a pair: every moved reference goes back, the merged record is
/// active again and the pair is open again.
pub async fn undo(store: &dyn Store, candidate_id: i64, by: &str, at: Timestamp) -> Result<Merge> {
    let mg = merge_of(store, candidate_id).await?.filter(|m| m.undone_at.is_none()).ok_or_else(|| {
        StoreError::Conflict(Violation::new(
            "status",
            "dedup.not_merged",
            "Cặp hồ sơ này không ở trạng thái đã gộp",
            "this pair is not merged",
        ))
    })?;
    let (k, m) = (mg.kept.to_string(), mg.merged.to_string());
    let mv = &mg.moved;
    let mut stmts = vec![Stmt::new(
        "UPDATE dedup_candidates SET status = 'open', decided_at = NULL, decided_by = NULL, reason = $2 \
         WHERE id = $1 AND status = 'merged'",
        vec![Val::Int(candidate_id), Val::Text(format!("gộp đã được hủy bởi {by}"))],
    )
    .expect_rows(1, already_decided())];
    stmts.extend(moves(&k, &m, &mv.father_of, "father_id"));
    stmts.extend(moves(&k, &m, &mv.mother_of, "mother_id"));
    stmts.extend(moves(&k, &m, &mv.spouse_of, "spouse_id"));
    for app in &mv.applications {
        stmts.push(Stmt::new(
            "UPDATE card_applications SET personal_id = $1 WHERE id = $2",
            vec![Val::Text(m.clone()), Val::Int(*app)],
        ));
    }
    for app in &mv.cards {
        stmts.push(Stmt::new(
            "UPDATE cards SET personal_id = $1 WHERE application_id = $2",
            vec![Val::Text(m.clone()), Val::Int(*app)],
        ));
    }
    if mv.household.is_some() {
        if mv.household_to_kept {
            stmts.push(household_stmt(&k, None));
        }
        stmts.push(household_stmt(&m, mv.household.as_ref()));
    }
    stmts
        .push(Stmt::new("UPDATE citizens SET merged_into = NULL WHERE personal_id = $1", vec![Val::Text(m)]));
    stmts.push(Stmt::new(
        "UPDATE dedup_merges SET undone_at = $2, undone_by = $3 WHERE id = $1",
        vec![Val::Int(mg.id), Val::Ts(at), Val::Text(by.into())],
    ));
    store.exec().transaction(stmts).await?;
    merge_of(store, candidate_id).await?.ok_or(StoreError::NotFound)
}

/// The record a personal ID was merged into, if it was.
pub async fn merged_into(store: &dyn Store, id: &PersonalId) -> Result<Option<PersonalId>> {
    let rows = store
        .exec()
        .query(
            "SELECT merged_into FROM citizens WHERE personal_id = $1 AND merged_into IS NOT NULL",
            vec![Val::Text(id.to_string())],
        )
        .await?;
    rows.first().map(|r| rows::parse_pid(&r.text(0)?)).transpose()
}

/// Every record in `scope` as the registry keeps it (for a deduplication run), read in pages
/// of [`READ_PAGE`] by personal ID so that only one page of raw rows is held at a time.
pub async fn citizens_in(store: &dyn Store, scope: &Scope) -> Result<Vec<dancu_domain::Citizen>> {
    let cols = rows::CITIZEN_COLUMNS.join(", ");
    let (cond, params) = rows::scope_where(scope, "scope_{level} = #", 2);
    let limit = if params.is_empty() { "$2" } else { "$3" };
    let sql = format!(
        "SELECT {cols} FROM citizens WHERE personal_id > $1 AND merged_into IS NULL AND {cond} \
         ORDER BY personal_id LIMIT {limit}"
    );
    let mut out = Vec::new();
    let mut last = String::new();
    loop {
        let mut p = vec![Val::Text(last.clone())];
        p.extend(params.iter().cloned());
        p.push(Val::Int(READ_PAGE));
        let page = store.exec().query(&sql, p).await?;
        let n = page.len();
        for r in &page {
            out.push(rows::citizen_from_row(r, 0)?);
        }
        match out.last() {
            Some(c) if n as i64 == READ_PAGE => last = c.personal_id.to_string(),
            _ => return Ok(out),
        }
    }
}

/// Rows per page when reading the registry for matching.
const READ_PAGE: i64 = 50_000;
