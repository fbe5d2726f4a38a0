//! Data-quality rules and worklists ("25 chỉ tiêu làm sạch"): storage written once for both
//! backends over [`crate::exec::SqlExec`]. A run evaluates every [`RULES`] rule over the
//! whole registry in SQL and keeps a snapshot of its findings; comparing with the previous
//! snapshot gives, per rule and 2025 unit, what was found (new), fixed (gone), failed
//! (an officer marked it impossible to fix, with a reason) and what remains. Only the
//! latest run's findings are kept; the counts of every run are. The audited, scoped entry
//! points are in [`crate::registry`].

use chrono::NaiveDate;
use dancu_domain::Violation;
use serde::Serialize;

use crate::exec::{OwnedRow, Stmt, Val};
use crate::model::{Page, Scope, Timestamp};
use crate::rows::{self, RowGet};
use crate::{Result, Store, StoreError};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A personal ID (links to `/citizens/{id}`).
    Citizen,
    /// A household number (links to `/households/{number}`).
    Household,
}

/// A data-quality rule: a stable code, names and descriptions, and the SQL that finds its
/// subjects. The SQL selects `subject, scope_province, scope_commune, detail`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    pub code: &'static str,
    pub name_vi: &'static str,
    pub name_en: &'static str,
    pub description_vi: &'static str,
    pub description_en: &'static str,
    pub subject: SubjectKind,
    #[serde(skip)]
    sql: &'static str,
}

/// Every rule, in the order pages list them.
pub const RULES: [Rule; 6] = [
    Rule {
        code: "missing_fields",
        name_vi: "Thiếu trường thông tin bắt buộc",
        name_en: "Missing mandatory fields",
        description_vi: "Hồ sơ thiếu một trong các trường: nơi đăng ký khai sinh (birth_place), quê quán \
                         (hometown), dân tộc (ethnicity), quốc tịch (nationality), hoặc không có cả nơi \
                         thường trú lẫn nơi ở hiện tại (residence).",
        description_en: "The record lacks one of: birth registration place (birth_place), home town \
                         (hometown), ethnicity, nationality, or has neither a permanent nor a current \
                         residence (residence).",
        subject: SubjectKind::Citizen,
        sql: "SELECT personal_id, scope_province, scope_commune, TRIM(\
              CASE WHEN birth_place IS NULL THEN 'birth_place ' ELSE '' END || \
              CASE WHEN hometown IS NULL THEN 'hometown ' ELSE '' END || \
              CASE WHEN TRIM(ethnicity) = '' THEN 'ethnicity ' ELSE '' END || \
              CASE WHEN TRIM(nationality) = '' THEN 'nationality ' ELSE '' END || \
              CASE WHEN permanent_unit IS NULL AND current_unit IS NULL THEN 'residence' ELSE '' END) AS detail \
              FROM citizens WHERE birth_place IS NULL OR hometown IS NULL OR TRIM(ethnicity) = '' \
              OR TRIM(nationality) = '' OR (permanent_unit IS NULL AND current_unit IS NULL)",
    },
    Rule {
        code: "household_no_head",
        name_vi: "Hộ gia đình không có chủ hộ",
        name_en: "Household without a head",
        description_vi: "Hộ có thành viên nhưng không ai là chủ hộ. Trường hợp hai chủ hộ không thể xảy ra: \
                         cơ sở dữ liệu chặn bằng ràng buộc duy nhất (một chủ hộ mỗi hộ).",
        description_en: "A household with members of whom none is the head. Two heads cannot occur: the \
                         database refuses it with a unique constraint (one head per household).",
        subject: SubjectKind::Household,
        sql: "SELECT household_no, MIN(scope_province) AS p, MIN(scope_commune) AS c, 'members ' || COUNT(*) AS d \
              FROM citizens WHERE household_no IS NOT NULL GROUP BY household_no \
              HAVING SUM(CASE WHEN relation = 'head' THEN 1 ELSE 0 END) = 0",
    },
    Rule {
        code: "deceased_active",
        name_vi: "Người đã chết còn thẻ, tài khoản hoặc nơi cư trú",
        name_en: "Deceased person still active",
        description_vi: "Người đã chết nhưng còn thẻ căn cước đang có hiệu lực (card), tài khoản định danh \
                         điện tử chưa khóa (eid), hoặc còn ghi nơi ở hiện tại hay tạm trú (residence).",
        description_en: "A deceased person with a valid ID card (card), an electronic identity account \
                         that is not locked (eid), or a current or temporary residence still recorded \
                         (residence).",
        subject: SubjectKind::Citizen,
        sql: "SELECT personal_id, scope_province, scope_commune, TRIM(d) AS detail FROM (\
              SELECT c.personal_id, c.scope_province, c.scope_commune, \
              CASE WHEN EXISTS (SELECT 1 FROM cards k WHERE k.personal_id = c.personal_id \
              AND k.status = 'valid') THEN 'card ' ELSE '' END || \
              CASE WHEN EXISTS (SELECT 1 FROM eid_accounts e WHERE e.personal_id = c.personal_id \
              AND e.state <> 'locked') THEN 'eid ' ELSE '' END || \
              CASE WHEN c.current_unit IS NOT NULL OR c.temporary_unit IS NOT NULL THEN 'residence' \
              ELSE '' END AS d FROM citizens c WHERE c.status = 'deceased') x WHERE d <> ''",
    },
    Rule {
        code: "id_inconsistent",
        name_vi: "Số định danh không khớp năm sinh hoặc giới tính",
        name_en: "Personal ID inconsistent with birth year or sex",
        description_vi: "Chữ số thứ 4 (thế kỷ và giới tính) và chữ số 5–6 (năm sinh) của số định danh không \
                         khớp năm sinh (id.year_mismatch) hoặc giới tính (id.sex_mismatch) trong hồ sơ.",
        description_en: "The personal ID's 4th digit (century and sex) and 5th–6th digits (birth year) \
                         disagree with the record's birth year (id.year_mismatch) or sex (id.sex_mismatch).",
        subject: SubjectKind::Citizen,
        sql: "SELECT personal_id, scope_province, scope_commune, CASE WHEN \
              1900 + 100 * (CAST(substr(personal_id, 4, 1) AS integer) / 2) \
              + CAST(substr(personal_id, 5, 2) AS integer) <> birth_year \
              THEN 'id.year_mismatch' ELSE 'id.sex_mismatch' END AS detail FROM citizens WHERE \
              1900 + 100 * (CAST(substr(personal_id, 4, 1) AS integer) / 2) \
              + CAST(substr(personal_id, 5, 2) AS integer) <> birth_year \
              OR (CAST(substr(personal_id, 4, 1) AS integer) % 2 = 0) <> (sex = 'M')",
    },
    Rule {
        code: "card_expired",
        name_vi: "Thẻ căn cước đã hết hạn",
        name_en: "Expired ID card",
        description_vi: "Thẻ còn trạng thái có hiệu lực nhưng ngày hết hạn đã qua (theo ngày ở Việt Nam); \
                         công dân cần làm thủ tục cấp đổi.",
        description_en: "A card still in the valid state whose expiry date has passed (Vietnam's date); \
                         the holder needs a renewal.",
        subject: SubjectKind::Citizen,
        sql: "SELECT c.personal_id, c.scope_province, c.scope_commune, 'expiry ' || MIN(k.expiry) AS detail \
              FROM cards k JOIN citizens c ON c.personal_id = k.personal_id \
              WHERE k.status = 'valid' AND k.expiry IS NOT NULL AND k.expiry < $2 \
              GROUP BY c.personal_id, c.scope_province, c.scope_commune",
    },
    Rule {
        code: "residence_invariants",
        name_vi: "Thông tin cư trú trái quy định",
        name_en: "Residence breaking the law's rules",
        description_vi: "Thành viên hộ không thường trú tại nơi thường trú của hộ (household_address), \
                         hơn một nơi thường trú đang có hiệu lực (two_permanent), người đã chết còn nơi \
                         cư trú (deceased_resident). Các thủ tục cư trú từ chối mọi thay đổi gây ra những \
                         trường hợp này; quy tắc tìm các hồ sơ có từ trước.",
        description_en: "A household member whose permanent residence is not the household's \
                         (household_address), more than one current permanent residence (two_permanent), \
                         a deceased person still registered as resident (deceased_resident). The residence \
                         procedures refuse any change that causes one; the rule finds the records that \
                         already do.",
        subject: SubjectKind::Citizen,
        sql: "SELECT personal_id, scope_province, scope_commune, TRIM(d) AS detail FROM (\
              SELECT c.personal_id, c.scope_province, c.scope_commune, \
              CASE WHEN c.household_no IS NOT NULL AND c.relation <> 'head' AND EXISTS (SELECT 1 FROM \
              citizens h WHERE h.household_no = c.household_no AND h.relation = 'head' AND \
              (h.permanent_unit IS DISTINCT FROM c.permanent_unit OR h.permanent_detail <> c.permanent_detail)) \
              THEN 'household_address ' ELSE '' END || \
              CASE WHEN (SELECT count(*) FROM residences r WHERE r.personal_id = c.personal_id \
              AND r.kind = 'permanent' AND r.ended_on IS NULL) > 1 THEN 'two_permanent ' ELSE '' END || \
              CASE WHEN c.status = 'deceased' AND EXISTS (SELECT 1 FROM residences r \
              WHERE r.personal_id = c.personal_id AND r.ended_on IS NULL) THEN 'deceased_resident' ELSE '' END \
              AS d FROM citizens c) x WHERE d <> ''",
    },
];

/// The rule with this code.
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code == code)
}

/// One evaluation of every rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityRun {
    pub id: i64,
    pub at: Timestamp,
    pub by: String,
}

/// An officer's "cannot fix" mark on a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    pub reason: String,
    pub by: String,
    pub at: Timestamp,
}

/// A finding of the latest run, with the citizen's name for citizen rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub subject: String,
    pub full_name: Option<String>,
    pub scope_province: String,
    pub scope_commune: String,
    /// Rule-specific, machine-readable: missing field codes, `card eid residence`,
    /// `id.year_mismatch`, `expiry 2025-01-31`, `members 3`.
    pub detail: String,
    pub mark: Option<Mark>,
}

/// Counts of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// New in the run (not in the previous one).
    pub found: u64,
    /// In the previous run, gone in this one.
    pub fixed: u64,
    /// In the run and marked impossible to fix.
    pub failed: u64,
    /// In the run and not marked.
    pub remaining: u64,
}

/// A rule's counts in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCounts {
    pub rule: String,
    pub run_id: i64,
    pub at: Timestamp,
    #[serde(flatten)]
    pub counts: Counts,
}

fn run_from(r: &OwnedRow) -> Result<QualityRun> {
    Ok(QualityRun { id: r.int(0)?, at: r.ts(1)?, by: r.text(2)? })
}

fn count(r: &OwnedRow, i: usize) -> Result<u64> {
    Ok(r.opt_int(i)?.unwrap_or(0).max(0) as u64)
}

fn run_busy() -> StoreError {
    StoreError::Conflict(Violation::new(
        "run",
        "quality.run_busy",
        "Một lượt kiểm tra khác vừa chạy, hãy thử lại",
        "another quality run was recorded at the same time; try again",
    ))
}

/// Evaluates every rule over the registry as of `at` (cards expire by Vietnam's `today`),
/// stores the findings and the counts per rule and unit, and drops the previous run's
/// findings, all in one transaction.
pub async fn run(store: &dyn Store, by: &str, today: NaiveDate, at: Timestamp) -> Result<QualityRun> {
    let next = store.exec().query("SELECT COALESCE(MAX(id), 0) + 1 FROM quality_runs", vec![]).await?;
    let id = next.first().map(|r| r.int(0)).transpose()?.unwrap_or(1);
    let run = QualityRun { id, at, by: by.into() };
    let mut stmts = vec![Stmt::new(
        "INSERT INTO quality_runs (id, at, by) VALUES ($1, $2, $3)",
        vec![Val::Int(id), Val::Ts(at), Val::Text(by.into())],
    )
    .on_unique(run_busy())];
    for r in &RULES {
        // Every rule's SQL gets the run and today; `$2` is used by the card rule only, so
        // each statement names it in a no-op condition for PostgreSQL to type it.
        stmts.push(Stmt::new(
            format!(
                "INSERT INTO quality_findings (run_id, rule, subject, scope_province, scope_commune, detail) \
                 SELECT CAST($1 AS bigint), '{}', q.* FROM ({}) q WHERE CAST($2 AS text) IS NOT NULL",
                r.code, r.sql
            ),
            vec![Val::Int(id), Val::Text(today.to_string())],
        ));
    }
    stmts.push(Stmt::new(
        "INSERT INTO quality_counts (run_id, rule, scope_province, scope_commune, found, fixed, failed, remaining) \
         SELECT CAST($1 AS bigint), rule, scope_province, scope_commune, SUM(found), SUM(fixed), SUM(failed), \
         SUM(remaining) FROM (\
         SELECT f.rule, f.scope_province, f.scope_commune, \
         CASE WHEN p.subject IS NULL THEN 1 ELSE 0 END AS found, 0 AS fixed, \
         CASE WHEN m.subject IS NULL THEN 0 ELSE 1 END AS failed, \
         CASE WHEN m.subject IS NULL THEN 1 ELSE 0 END AS remaining \
         FROM quality_findings f \
         LEFT JOIN quality_findings p ON p.run_id = $2 AND p.rule = f.rule AND p.subject = f.subject \
         LEFT JOIN quality_marks m ON m.rule = f.rule AND m.subject = f.subject WHERE f.run_id = $1 \
         UNION ALL \
         SELECT p.rule, p.scope_province, p.scope_commune, 0, 1, 0, 0 FROM quality_findings p \
         WHERE p.run_id = $2 AND NOT EXISTS (SELECT 1 FROM quality_findings f \
         WHERE f.run_id = $1 AND f.rule = p.rule AND f.subject = p.subject)\
         ) x GROUP BY rule, scope_province, scope_commune",
        vec![Val::Int(id), Val::Int(id - 1)],
    ));
    stmts.push(Stmt::new("DELETE FROM quality_findings WHERE run_id < $1", vec![Val::Int(id)]));
    store.exec().transaction(stmts).await?;
    Ok(run)
}

/// The most recent run, if any.
pub async fn latest_run(store: &dyn Store) -> Result<Option<QualityRun>> {
    let rows =
        store.exec().query("SELECT id, at, by FROM quality_runs ORDER BY id DESC LIMIT 1", vec![]).await?;
    rows.first().map(run_from).transpose()
}

/// Every rule's counts in `scope` for the latest run (zeros before the first): found and
/// fixed as the run recorded them; failed and remaining as of now, so a mark moves them at
/// once.
pub async fn summary(store: &dyn Store, scope: &Scope) -> Result<Vec<(&'static Rule, Counts)>> {
    let mut out: Vec<(&'static Rule, Counts)> = RULES.iter().map(|r| (r, Counts::default())).collect();
    let Some(latest) = latest_run(store).await? else { return Ok(out) };
    let (cond, mut params) = rows::scope_where(scope, "q.scope_{level} = #", 2);
    params.insert(0, Val::Int(latest.id));
    let stored = store
        .exec()
        .query(
            &format!(
                "SELECT rule, CAST(SUM(found) AS bigint), CAST(SUM(fixed) AS bigint) FROM quality_counts q WHERE run_id = $1 AND {cond} \
                 GROUP BY rule"
            ),
            params.clone(),
        )
        .await?;
    let live = store
        .exec()
        .query(
            &format!(
                "SELECT q.rule, SUM(CASE WHEN m.subject IS NULL THEN 0 ELSE 1 END), \
                 SUM(CASE WHEN m.subject IS NULL THEN 1 ELSE 0 END) FROM quality_findings q \
                 LEFT JOIN quality_marks m ON m.rule = q.rule AND m.subject = q.subject \
                 WHERE q.run_id = $1 AND {cond} GROUP BY q.rule"
            ),
            params,
        )
        .await?;
    for (r, c) in out.iter_mut() {
        if let Some(row) = stored.iter().find(|row| row.text(0).is_ok_and(|s| s == r.code)) {
            c.found = count(row, 1)?;
            c.fixed = count(row, 2)?;
        }
        if let Some(row) = live.iter().find(|row| row.text(0).is_ok_and(|s| s == r.code)) {
            c.failed = count(row, 1)?;
            c.remaining = count(row, 2)?;
        }
    }
    Ok(out)
}

/// Counts per run for one rule in `scope`, newest run first (as each run recorded them).
pub async fn history(store: &dyn Store, scope: &Scope, rule: &str, limit: u32) -> Result<Vec<RuleCounts>> {
    let (cond, mut params) = rows::scope_where(scope, "q.scope_{level} = #", 3);
    params.splice(0..0, [Val::Text(rule.into()), Val::Int(rows::page_limit(limit).into())]);
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT r.id, r.at, CAST(COALESCE(SUM(q.found), 0) AS bigint), \
                 CAST(COALESCE(SUM(q.fixed), 0) AS bigint), CAST(COALESCE(SUM(q.failed), 0) AS bigint), \
                 CAST(COALESCE(SUM(q.remaining), 0) AS bigint) FROM quality_runs r \
                 LEFT JOIN quality_counts q ON q.run_id = r.id AND q.rule = $1 AND {cond} \
                 GROUP BY r.id, r.at ORDER BY r.id DESC LIMIT $2"
            ),
            params,
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(RuleCounts {
                rule: rule.into(),
                run_id: r.int(0)?,
                at: r.ts(1)?,
                counts: Counts {
                    found: count(r, 2)?,
                    fixed: count(r, 3)?,
                    failed: count(r, 4)?,
                    remaining: count(r, 5)?,
                },
            })
        })
        .collect()
}

/// Columns and joins of a finding of the latest run, for [`finding_from`].
const FINDING_FROM: &str =
    "SELECT f.rule, f.subject, c.full_name, f.scope_province, f.scope_commune, f.detail, \
     m.reason, m.by, m.at FROM quality_findings f \
     LEFT JOIN quality_marks m ON m.rule = f.rule AND m.subject = f.subject \
     LEFT JOIN citizens c ON c.personal_id = f.subject \
     WHERE f.run_id = (SELECT MAX(id) FROM quality_runs)";

fn finding_from(r: &OwnedRow) -> Result<Finding> {
    let mark = match r.opt_text(6)? {
        Some(reason) => Some(Mark { reason, by: r.text(7)?, at: r.ts(8)? }),
        None => None,
    };
    Ok(Finding {
        rule: r.text(0)?,
        subject: r.text(1)?,
        full_name: r.opt_text(2)?,
        scope_province: r.text(3)?,
        scope_commune: r.text(4)?,
        detail: r.text(5)?,
        mark,
    })
}

/// The latest run's findings of `rule` in `scope`: the open ones, or with `marked` those
/// marked impossible to fix. Ordered by unit, then subject.
pub async fn worklist(
    store: &dyn Store,
    scope: &Scope,
    rule: &str,
    marked: bool,
    limit: u32,
    offset: u64,
) -> Result<Page<Finding>> {
    let limit = rows::page_limit(limit);
    let (scope_cond, mut params) = rows::scope_where(scope, "f.scope_{level} = #", 2);
    params.insert(0, Val::Text(rule.into()));
    let not = if marked { "NOT " } else { "" };
    let sql = format!("{FINDING_FROM} AND f.rule = $1 AND {scope_cond} AND m.subject IS {not}NULL");
    let total = store.exec().query(&format!("SELECT COUNT(*) FROM ({sql}) t"), params.clone()).await?;
    let total = total.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) as u64;
    // Limit and offset are numbers, written into the statement.
    let order =
        format!(" ORDER BY f.scope_province, f.scope_commune, f.subject LIMIT {limit} OFFSET {offset}");
    let rows = store.exec().query(&(sql + &order), params).await?;
    let items = rows.iter().map(finding_from).collect::<Result<Vec<_>>>()?;
    Ok(Page { items, total, limit, offset })
}

/// A finding of the latest run, if it is in `scope`.
pub async fn finding(store: &dyn Store, scope: &Scope, rule: &str, subject: &str) -> Result<Option<Finding>> {
    let (scope_cond, mut params) = rows::scope_where(scope, "f.scope_{level} = #", 3);
    params.splice(0..0, [Val::Text(rule.into()), Val::Text(subject.into())]);
    let sql = format!("{FINDING_FROM} AND f.rule = $1 AND f.subject = $2 AND {scope_cond}");
    let rows = store.exec().query(&sql, params).await?;
    rows.first().map(finding_from).transpose()
}

/// Marks a finding impossible to fix (replacing an earlier mark), or with `None` removes
/// the mark. The caller checks the finding is in scope ([`finding`]).
pub async fn set_mark(store: &dyn Store, rule: &str, subject: &str, mark: Option<&Mark>) -> Result<()> {
    let stmt = match mark {
        Some(m) => Stmt::new(
            "INSERT INTO quality_marks (rule, subject, reason, by, at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (rule, subject) DO UPDATE SET reason = excluded.reason, by = excluded.by, \
             at = excluded.at",
            vec![
                Val::Text(rule.into()),
                Val::Text(subject.into()),
                Val::Text(m.reason.clone()),
                Val::Text(m.by.clone()),
                Val::Ts(m.at),
            ],
        ),
        None => Stmt::new(
            "DELETE FROM quality_marks WHERE rule = $1 AND subject = $2",
            vec![Val::Text(rule.into()), Val::Text(subject.into())],
        ),
    };
    store.exec().transaction(vec![stmt]).await
}
