//! Submitted figures (issue 16, part 3): storage written once for both backends over
//! [`crate::exec::SqlExec`] (migration 0025). One submission per unit, month and form; its
//! values are replaced whole while it is a draft or returned, and every transition is kept
//! with who, when and why. The scoped, audited paths are in `registry/figures.rs`; the
//! forms and their rules in `dancu_tables::forms`.

use dancu_domain::Violation;
use serde::{Deserialize, Serialize};

use crate::exec::{OwnedRow, Stmt, Val};
use crate::model::{Page, Timestamp};
use crate::rows::RowGet;
use crate::{Result, Store, StoreError};

/// Where a submission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FigureState {
    /// Saved by the unit, not yet sent.
    Draft,
    /// Sent to the province for review.
    Submitted,
    /// Accepted by the province: these are the figures reports read.
    Approved,
    /// Sent back with a reason; the unit corrects and submits again.
    Returned,
}

impl FigureState {
    pub const ALL: [FigureState; 4] =
        [FigureState::Draft, FigureState::Submitted, FigureState::Approved, FigureState::Returned];

    pub fn code(self) -> &'static str {
        match self {
            FigureState::Draft => "draft",
            FigureState::Submitted => "submitted",
            FigureState::Approved => "approved",
            FigureState::Returned => "returned",
        }
    }
    pub fn parse(s: &str) -> Option<FigureState> {
        Self::ALL.into_iter().find(|f| f.code() == s)
    }
    /// The unit may still change the values (and submit them).
    pub fn editable(self) -> bool {
        matches!(self, FigureState::Draft | FigureState::Returned)
    }
}

/// One submission (without its values).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FigureSubmission {
    /// Random, below 2⁵³.
    pub id: i64,
    /// A 2025 commune code (5 digits) or province code (2 digits).
    pub unit: String,
    pub province: String,
    /// Empty for a province's own submission.
    pub commune: String,
    /// `YYYY-MM`.
    pub month: String,
    /// `services` or `outreach`.
    pub form: String,
    pub state: FigureState,
    /// Raised by every change; a change names the version it was made on.
    pub version: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    pub updated_by: String,
    /// Who sent it for review last (a reviewer may not approve their own).
    pub submitted_by: Option<String>,
}

/// One stored value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FigureValue {
    pub row: String,
    pub column: String,
    pub value: i64,
}

/// One transition of a submission.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FigureEvent {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor: String,
    /// `save`, `submit`, `approve`, `return`.
    pub action: String,
    pub from_state: Option<FigureState>,
    pub to_state: FigureState,
    /// Why (required to return).
    pub reason: String,
    /// `form` (typed on the page or sent as JSON) or `upload` (an XLSX/CSV file).
    pub source: String,
}

/// An approved value, as reports read it (and `dancu report --figures` reads from CSV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovedFigure {
    pub unit: String,
    pub month: String,
    pub form: String,
    pub row: String,
    pub column: String,
    pub value: i64,
}

/// Which submissions a listing selects (scope already applied as province / commune).
#[derive(Debug, Clone, Default)]
pub struct FigureFilter {
    pub province: Option<String>,
    pub commune: Option<String>,
    pub state: Option<FigureState>,
    pub form: Option<String>,
    pub month: Option<String>,
    pub limit: u32,
    pub offset: u64,
}

const COLS: &str = "id, unit, province, commune, month, form, state, version, created_at, created_by, \
     updated_at, updated_by, submitted_by";

fn state_of(s: &str) -> Result<FigureState> {
    FigureState::parse(s).ok_or_else(|| crate::rows::corrupt("figure state", s))
}

fn from_row(r: &OwnedRow) -> Result<FigureSubmission> {
    Ok(FigureSubmission {
        id: r.int(0)?,
        unit: r.text(1)?,
        province: r.text(2)?,
        commune: r.text(3)?,
        month: r.text(4)?,
        form: r.text(5)?,
        state: state_of(&r.text(6)?)?,
        version: r.int(7)?,
        created_at: r.ts(8)?,
        created_by: r.text(9)?,
        updated_at: r.ts(10)?,
        updated_by: r.text(11)?,
        submitted_by: r.opt_text(12)?,
    })
}

pub async fn get(store: &dyn Store, id: i64) -> Result<Option<FigureSubmission>> {
    let rows = store
        .exec()
        .query_point(&format!("SELECT {COLS} FROM figure_submissions WHERE id = $1"), vec![Val::Int(id)])
        .await?;
    rows.first().map(from_row).transpose()
}

/// The submission of `unit` for `month` on `form`, if any.
pub async fn find(
    store: &dyn Store,
    unit: &str,
    month: &str,
    form: &str,
) -> Result<Option<FigureSubmission>> {
    let rows = store
        .exec()
        .query_point(
            &format!("SELECT {COLS} FROM figure_submissions WHERE unit = $1 AND month = $2 AND form = $3"),
            vec![Val::Text(unit.into()), Val::Text(month.into()), Val::Text(form.into())],
        )
        .await?;
    rows.first().map(from_row).transpose()
}

pub async fn values(store: &dyn Store, id: i64) -> Result<Vec<FigureValue>> {
    let rows = store
        .exec()
        .query(
            "SELECT row_code, col_code, value FROM figure_values WHERE submission_id = $1 ORDER BY row_code, col_code",
            vec![Val::Int(id)],
        )
        .await?;
    rows.iter().map(|r| Ok(FigureValue { row: r.text(0)?, column: r.text(1)?, value: r.int(2)? })).collect()
}

pub async fn events(store: &dyn Store, id: i64) -> Result<Vec<FigureEvent>> {
    let rows = store
        .exec()
        .query(
            "SELECT at, actor, action, from_state, to_state, reason, source FROM figure_events \
             WHERE submission_id = $1 ORDER BY id",
            vec![Val::Int(id)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(FigureEvent {
                at: r.ts(0)?,
                actor: r.text(1)?,
                action: r.text(2)?,
                from_state: r.opt_text(3)?.map(|s| state_of(&s)).transpose()?,
                to_state: state_of(&r.text(4)?)?,
                reason: r.text(5)?,
                source: r.text(6)?,
            })
        })
        .collect()
}

/// A page of submissions, the newest month first, then by unit and form.
pub async fn list(store: &dyn Store, f: &FigureFilter) -> Result<Page<FigureSubmission>> {
    let mut conds = Vec::new();
    let mut params = Vec::new();
    let mut add = |cond: &str, v: &Option<String>| {
        if let Some(v) = v {
            params.push(Val::Text(v.clone()));
            conds.push(format!("{cond} = ${}", params.len()));
        }
    };
    add("province", &f.province);
    add("commune", &f.commune);
    add("state", &f.state.map(|s| s.code().to_string()));
    add("form", &f.form);
    add("month", &f.month);
    let cond = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
    crate::exec::page(
        store.exec(),
        &format!("SELECT COUNT(*) FROM figure_submissions{cond}"),
        &format!("SELECT {COLS} FROM figure_submissions{cond} ORDER BY month DESC, unit, form, id"),
        params,
        f.limit,
        f.offset,
        from_row,
    )
    .await
}

/// What a save writes: the unit (with its province and commune), month, form, values and
/// the state to leave it in (draft or submitted).
#[derive(Debug, Clone)]
pub struct NewFigures {
    pub unit: String,
    pub province: String,
    pub commune: String,
    pub month: String,
    pub form: String,
    pub values: Vec<FigureValue>,
    pub state: FigureState,
    pub at: Timestamp,
    pub actor: String,
    pub source: String,
}

fn stale() -> StoreError {
    StoreError::Conflict(Violation::new(
        "version",
        "figures.stale",
        "Biểu số liệu vừa được người khác thay đổi hoặc không còn ở trạng thái cho phép; hãy tải lại trang",
        "the submission was changed meanwhile or is no longer in a state that allows this; reload it",
    ))
}

/// A transition's history row; `moved` is (from, to).
fn event(
    id: i64,
    n_at: Timestamp,
    actor: &str,
    action: &str,
    moved: (Option<FigureState>, FigureState),
    reason: &str,
    source: &str,
) -> Stmt {
    let (from, to) = moved;
    Stmt::new(
        "INSERT INTO figure_events (submission_id, at, actor, action, from_state, to_state, reason, source) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            Val::Int(id),
            Val::Ts(n_at),
            Val::Text(actor.into()),
            Val::Text(action.into()),
            Val::OptText(from.map(|s| s.code().to_string())),
            Val::Text(to.code().into()),
            Val::Text(reason.into()),
            Val::Text(source.into()),
        ],
    )
}

fn value_stmts(id: i64, values: &[FigureValue]) -> Vec<Stmt> {
    let mut out = vec![Stmt::new("DELETE FROM figure_values WHERE submission_id = $1", vec![Val::Int(id)])];
    out.extend(values.iter().filter(|v| v.value != 0).map(|v| {
        Stmt::new(
            "INSERT INTO figure_values (submission_id, row_code, col_code, value) VALUES ($1, $2, $3, $4)",
            vec![Val::Int(id), Val::Text(v.row.clone()), Val::Text(v.column.clone()), Val::Int(v.value)],
        )
    }));
    out
}

/// Creates the submission, or replaces the values of an editable one (`expected`: the
/// stored one the caller saw, `None` for a new one), in one transaction with its event.
pub async fn save(
    store: &dyn Store,
    n: &NewFigures,
    expected: Option<&FigureSubmission>,
) -> Result<FigureSubmission> {
    let action = if n.state == FigureState::Submitted { "submit" } else { "save" };
    let submitted_by = (n.state == FigureState::Submitted).then(|| n.actor.clone());
    let (id, mut stmts) = match expected {
        None => {
            let id = (rand::random::<u64>() >> 11) as i64 + 1;
            let insert = Stmt::new(
                format!("INSERT INTO figure_submissions ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $8, $9, $10)"),
                vec![
                    Val::Int(id),
                    Val::Text(n.unit.clone()),
                    Val::Text(n.province.clone()),
                    Val::Text(n.commune.clone()),
                    Val::Text(n.month.clone()),
                    Val::Text(n.form.clone()),
                    Val::Text(n.state.code().into()),
                    Val::Ts(n.at),
                    Val::Text(n.actor.clone()),
                    Val::OptText(submitted_by),
                ],
            )
            // Another save of the same unit, month and form won the race.
            .on_unique(stale());
            (id, vec![insert])
        }
        Some(s) => {
            let update = Stmt::new(
                "UPDATE figure_submissions SET state = $2, version = version + 1, updated_at = $3, updated_by = $4, \
                 submitted_by = COALESCE($5, submitted_by) \
                 WHERE id = $1 AND version = $6 AND state IN ('draft', 'returned')",
                vec![
                    Val::Int(s.id),
                    Val::Text(n.state.code().into()),
                    Val::Ts(n.at),
                    Val::Text(n.actor.clone()),
                    Val::OptText(submitted_by),
                    Val::Int(s.version),
                ],
            )
            .expect_rows(1, stale());
            (s.id, vec![update])
        }
    };
    stmts.extend(value_stmts(id, &n.values));
    stmts.push(event(id, n.at, &n.actor, action, (expected.map(|s| s.state), n.state), "", &n.source));
    store.exec().transaction(stmts).await?;
    get(store, id).await?.ok_or(StoreError::NotFound)
}

/// Moves a submission from `from` to `to` (on the version the caller saw) with its event.
pub async fn transition(
    store: &dyn Store,
    s: &FigureSubmission,
    action: &str,
    to: FigureState,
    reason: &str,
    at: Timestamp,
    actor: &str,
) -> Result<FigureSubmission> {
    let submitted_by = (to == FigureState::Submitted).then(|| actor.to_string());
    let update = Stmt::new(
        "UPDATE figure_submissions SET state = $2, version = version + 1, updated_at = $3, updated_by = $4, \
         submitted_by = COALESCE($5, submitted_by) WHERE id = $1 AND version = $6 AND state = $7",
        vec![
            Val::Int(s.id),
            Val::Text(to.code().into()),
            Val::Ts(at),
            Val::Text(actor.into()),
            Val::OptText(submitted_by),
            Val::Int(s.version),
            Val::Text(s.state.code().into()),
        ],
    )
    .expect_rows(1, stale());
    let ev = event(s.id, at, actor, action, (Some(s.state), to), reason, "");
    store.exec().transaction(vec![update, ev]).await?;
    get(store, s.id).await?.ok_or(StoreError::NotFound)
}

/// The approved values of these units and months (any form), by unit, month, form, row.
pub async fn approved(store: &dyn Store, units: &[String], months: &[String]) -> Result<Vec<ApprovedFigure>> {
    let mut out = Vec::new();
    if units.is_empty() || months.is_empty() {
        return Ok(out);
    }
    // A bounded number of parameters per query (SQLite's limit is far above it).
    for chunk in units.chunks(400) {
        let mut params: Vec<Val> = chunk.iter().map(|u| Val::Text(u.clone())).collect();
        let units_in: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let months_in: Vec<String> = months
            .iter()
            .map(|m| {
                params.push(Val::Text(m.clone()));
                format!("${}", params.len())
            })
            .collect();
        let sql = format!(
            "SELECT s.unit, s.month, s.form, v.row_code, v.col_code, v.value \
             FROM figure_submissions s JOIN figure_values v ON v.submission_id = s.id \
             WHERE s.state = 'approved' AND s.unit IN ({}) AND s.month IN ({}) \
             ORDER BY s.unit, s.month, s.form, v.row_code, v.col_code",
            units_in.join(", "),
            months_in.join(", ")
        );
        for r in store.exec().query(&sql, params).await? {
            out.push(ApprovedFigure {
                unit: r.text(0)?,
                month: r.text(1)?,
                form: r.text(2)?,
                row: r.text(3)?,
                column: r.text(4)?,
                value: r.int(5)?,
            });
        }
    }
    Ok(out)
}
