//! The figures of a Project 06 report (issue 16): aggregate counts over the tables the
//! platform already keeps, for one scope and one time window, written once for both backends
//! over [`crate::exec::SqlExec`]. Every statement is a `GROUP BY` (no row is read out), and
//! groups by 2025 commune so the report crate can add communes up into any unit of either
//! list (a 2025 province, or a legacy province or district before the reform). The
//! indicators, periods and rendering are `dancu-report`'s; the audited entry point is
//! `Registry::report_counts`.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::applications::open_list;
use crate::exec::{Stmt, Val};
use crate::model::{Scope, Timestamp};
use crate::rows::{self, RowGet};
use crate::{Result, Store};

/// What to count: records of `scope` with their event in `[from, to)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportWindow {
    pub scope: Scope,
    pub from: Timestamp,
    pub to: Timestamp,
    /// The day open applications are judged overdue on (the period's last day, or today
    /// when the period is not over).
    pub as_of: NaiveDate,
}

/// Applications submitted in the window, per commune, service and channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AppFigures {
    pub commune: String,
    pub service_code: String,
    pub channel: String,
    pub received: u64,
    /// Decided (completed or rejected) by the due date.
    pub on_time: u64,
    /// Decided after the due date.
    pub decided_late: u64,
    /// Still open and past the due date on `as_of`.
    pub open_overdue: u64,
    pub not_accepted: u64,
    /// Completed or rejected.
    pub decided: u64,
    /// Submitted, accepted, in process or waiting for information.
    pub open: u64,
}

/// Applications not accepted, per commune, service and reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    pub commune: String,
    pub service_code: String,
    pub reason: String,
    pub count: u64,
}

/// A keyed count per commune: card stages reached, eID events by level, login outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyedCount {
    pub commune: String,
    pub key: String,
    /// The eID level for eID events; 0 where it does not apply.
    pub level: i64,
    pub count: u64,
}

/// Partner calls in the window (nation-wide: calls are counted per partner, not per unit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartnerFigures {
    pub operation: String,
    pub outcome: String,
    pub count: u64,
}

/// Data-cleaning work of the newest quality run of the window, per commune and rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QualityFigures {
    pub commune: String,
    pub rule: String,
    pub found: u64,
    pub fixed: u64,
    pub failed: u64,
    pub remaining: u64,
}

/// Documents attached to applications in the window, per commune: digitised (stored) or
/// reused (the same file already held for the citizen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentFigures {
    pub commune: String,
    pub digitised: u64,
    pub reused: u64,
}

/// Everything a report reads, for one window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReportCounts {
    pub applications: Vec<AppFigures>,
    pub not_accepted: Vec<ReasonCount>,
    /// Card applications that reached a stage in the window (`key` = stage code).
    pub card_stages: Vec<KeyedCount>,
    /// eID account events in the window (`key` = event: register, approve, activate,
    /// upgrade …; `level` = the account's level after the event).
    pub eid_events: Vec<KeyedCount>,
    /// Portal logins in the window (`key` = outcome: ok, bad_password …).
    pub logins: Vec<KeyedCount>,
    pub partner_calls: Vec<PartnerFigures>,
    pub quality: Vec<QualityFigures>,
    /// The quality run the figures come from (none in the window: empty `quality`).
    pub quality_run: Option<i64>,
    pub documents: Vec<DocumentFigures>,
}

fn count(r: &crate::exec::OwnedRow, i: usize) -> Result<u64> {
    u64::try_from(r.int(i)?).map_err(|e| rows::corrupt("count", e))
}

/// The scope condition on `col_prefix.scope_…` with the window's bounds as `$1`, `$2` and
/// the scope code (if any) as `$3`.
fn window_where(w: &ReportWindow, prefix: &str, at: &str) -> (String, Vec<Val>) {
    let (scope, scope_params) = rows::scope_where(&w.scope, &format!("{prefix}scope_{{level}} = #"), 3);
    let mut params = vec![Val::Ts(w.from), Val::Ts(w.to)];
    params.extend(scope_params);
    (format!("{scope} AND {at} >= $1 AND {at} < $2"), params)
}

/// Applications per commune, service and channel, and the reasons for not accepting.
async fn applications(store: &dyn Store, w: &ReportWindow) -> Result<(Vec<AppFigures>, Vec<ReasonCount>)> {
    let (cond, mut params) = window_where(w, "", "submitted_at");
    params.push(Val::Text(w.as_of.to_string()));
    let as_of = params.len();
    let open = open_list();
    let sql = format!(
        "SELECT scope_commune, service_code, channel, COUNT(*), \
         COUNT(CASE WHEN on_time = 1 THEN 1 END), \
         COUNT(CASE WHEN on_time = 0 THEN 1 END), \
         COUNT(CASE WHEN state IN ({open}) AND due_date < ${as_of} THEN 1 END), \
         COUNT(CASE WHEN state = 'not_accepted' THEN 1 END), \
         COUNT(CASE WHEN state IN ('completed', 'rejected') THEN 1 END), \
         COUNT(CASE WHEN state IN ({open}) THEN 1 END) \
         FROM applications WHERE {cond} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    );
    let (cond2, params2) = window_where(w, "", "submitted_at");
    let reasons_sql = format!(
        "SELECT scope_commune, service_code, state_reason, COUNT(*) FROM applications \
         WHERE {cond2} AND state = 'not_accepted' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    );
    let (rows, reason_rows) =
        tokio::try_join!(store.exec().query(&sql, params), store.exec().query(&reasons_sql, params2))?;
    let apps = rows
        .iter()
        .map(|r| {
            Ok(AppFigures {
                commune: r.text(0)?,
                service_code: r.text(1)?,
                channel: r.text(2)?,
                received: count(r, 3)?,
                on_time: count(r, 4)?,
                decided_late: count(r, 5)?,
                open_overdue: count(r, 6)?,
                not_accepted: count(r, 7)?,
                decided: count(r, 8)?,
                open: count(r, 9)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let reasons = reason_rows
        .iter()
        .map(|r| {
            Ok(ReasonCount {
                commune: r.text(0)?,
                service_code: r.text(1)?,
                reason: r.text(2)?,
                count: count(r, 3)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((apps, reasons))
}

async fn keyed(store: &dyn Store, sql: &str, params: Vec<Val>, with_level: bool) -> Result<Vec<KeyedCount>> {
    let rows = store.exec().query(sql, params).await?;
    rows.iter()
        .map(|r| {
            Ok(KeyedCount {
                commune: r.text(0)?,
                key: r.text(1)?,
                level: if with_level { r.int(2)? } else { 0 },
                count: count(r, if with_level { 3 } else { 2 })?,
            })
        })
        .collect()
}

/// The Vietnam day of a timestamp, `YYYY-MM-DD` (partner counts are kept per day).
fn vietnam_day(t: &Timestamp) -> String {
    dancu_domain::date::vietnam_today(*t).to_string()
}

/// Every figure of a report for one window; each statement aggregates in the database.
/// The statements are independent and run at once (SQLite: on its read connections;
/// PostgreSQL: on pooled connections), so a report waits for the slowest, not for the sum.
pub async fn report_counts(store: &dyn Store, w: &ReportWindow) -> Result<ReportCounts> {
    let card_stages = async {
        let (cond, params) = window_where(w, "a.", "e.at");
        keyed(
            store,
            &format!(
                "SELECT a.scope_commune, e.to_stage, COUNT(*) FROM card_application_events e \
                 JOIN card_applications a ON a.id = e.application_id WHERE {cond} GROUP BY 1, 2 ORDER BY 1, 2"
            ),
            params,
            false,
        )
        .await
    };
    let eid_events = async {
        let (cond, params) = window_where(w, "a.", "e.at");
        keyed(
            store,
            &format!(
                "SELECT a.scope_commune, e.event, e.level, COUNT(*) FROM eid_events e \
                 JOIN eid_accounts a ON a.personal_id = e.personal_id WHERE {cond} \
                 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            ),
            params,
            true,
        )
        .await
    };
    let logins = async {
        let (cond, params) = window_where(w, "a.", "l.at");
        keyed(
            store,
            &format!(
                "SELECT a.scope_commune, l.outcome, COUNT(*) FROM eid_logins l \
                 JOIN eid_accounts a ON a.personal_id = l.personal_id WHERE {cond} GROUP BY 1, 2 ORDER BY 1, 2"
            ),
            params,
            false,
        )
        .await
    };

    // Partner calls carry no unit: counted for the nation only.
    let partner_calls = async {
        if w.scope != Scope::Nation {
            return Ok(Vec::new());
        }
        let last = w.to - chrono::Duration::microseconds(1);
        let rows = store
            .exec()
            .query(
                "SELECT operation, outcome, CAST(SUM(count) AS BIGINT) FROM partner_counts \
                 WHERE day >= $1 AND day <= $2 GROUP BY 1, 2 ORDER BY 1, 2",
                vec![Val::Text(vietnam_day(&w.from)), Val::Text(vietnam_day(&last))],
            )
            .await?;
        rows.iter()
            .map(|r| Ok(PartnerFigures { operation: r.text(0)?, outcome: r.text(1)?, count: count(r, 2)? }))
            .collect::<Result<Vec<_>>>()
    };

    // The newest quality run finished in the window.
    let quality = async {
        let run = store
            .exec()
            .query(
                "SELECT MAX(id) FROM quality_runs WHERE at >= $1 AND at < $2",
                vec![Val::Ts(w.from), Val::Ts(w.to)],
            )
            .await?;
        let quality_run = run.first().map(|r| r.opt_int(0)).transpose()?.flatten();
        let quality = match quality_run {
            None => Vec::new(),
            Some(run) => {
                let (scope, mut params) = rows::scope_where(&w.scope, "scope_{level} = #", 2);
                params.insert(0, Val::Int(run));
                let rows = store
                    .exec()
                    .query(
                        &format!(
                            "SELECT scope_commune, rule, CAST(SUM(found) AS BIGINT), CAST(SUM(fixed) AS BIGINT), \
                             CAST(SUM(failed) AS BIGINT), CAST(SUM(remaining) AS BIGINT) FROM quality_counts \
                             WHERE run_id = $1 AND {scope} GROUP BY 1, 2 ORDER BY 1, 2"
                        ),
                        params,
                    )
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(QualityFigures {
                            commune: r.text(0)?,
                            rule: r.text(1)?,
                            found: count(r, 2)?,
                            fixed: count(r, 3)?,
                            failed: count(r, 4)?,
                            remaining: count(r, 5)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?
            }
        };
        Ok((quality_run, quality))
    };

    let documents = async {
        let (cond, params) = window_where(w, "a.", "d.at");
        let rows = store
            .exec()
            .query(
                &format!(
                    "SELECT a.scope_commune, COUNT(CASE WHEN d.reused = 0 THEN 1 END), \
                     COUNT(CASE WHEN d.reused <> 0 THEN 1 END) FROM application_documents d \
                     JOIN applications a ON a.id = d.application_id WHERE {cond} GROUP BY 1 ORDER BY 1"
                ),
                params,
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DocumentFigures { commune: r.text(0)?, digitised: count(r, 1)?, reused: count(r, 2)? })
            })
            .collect::<Result<Vec<_>>>()
    };

    let (
        (applications, not_accepted),
        card_stages,
        eid_events,
        logins,
        partner_calls,
        (quality_run, quality),
        documents,
    ) = tokio::try_join!(
        applications(store, w),
        card_stages,
        eid_events,
        logins,
        partner_calls,
        quality,
        documents
    )?;
    Ok(ReportCounts {
        applications,
        not_accepted,
        card_stages,
        eid_events,
        logins,
        partner_calls,
        quality,
        quality_run,
        documents,
    })
}

/// Applications of one month (Vietnam time) and service: the dashboard's trend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthFigures {
    /// `YYYY-MM`.
    pub month: String,
    /// Empty unless asked per commune.
    pub commune: String,
    pub service_code: String,
    pub received: u64,
    pub online: u64,
}

/// The Vietnam month (`YYYY-MM`) that `t` starts, if it is the first instant of one.
fn month_start(t: &Timestamp) -> Option<String> {
    let local = (*t + chrono::Duration::hours(7)).naive_utc();
    (local.date().day() == 1 && local.time() == chrono::NaiveTime::MIN)
        .then(|| local.format("%Y-%m").to_string())
}

/// Applications per Vietnam month and service in the window (per commune too with
/// `by_commune`, for units of the legacy list). A window of whole months of a province or
/// the nation reads the rollup `application_month_counts` (kept by triggers in the
/// transaction of every application write, migration 0028); any other window is one
/// aggregate over the applications. Both give the same rows.
pub async fn month_counts(
    store: &dyn Store,
    w: &ReportWindow,
    by_commune: bool,
) -> Result<Vec<MonthFigures>> {
    let months = month_start(&w.from).zip(month_start(&w.to));
    match (&w.scope, months) {
        (Scope::Nation | Scope::Province(_), Some((from, to))) if !by_commune => {
            month_rollup(store, w, from, to).await
        }
        _ => month_direct(store, w, by_commune).await,
    }
}

/// Folds each key's rows of the month rollup into one (PostgreSQL, where the triggers
/// insert signed deltas, migration 0030; SQLite's one writer keeps one row per key). One
/// statement deletes the rows of keys that have several and inserts their sums: writers only
/// insert, so it never waits for one, and two servers compacting at once each fold only the
/// rows they deleted.
pub async fn compact_month_counts(store: &dyn Store) -> Result<()> {
    if store.backend() != "postgres" {
        return Ok(());
    }
    const COMPACT: &str = "WITH dup AS (SELECT scope_province, month, service_code, channel \
         FROM application_month_counts GROUP BY 1, 2, 3, 4 HAVING count(*) > 1), \
       gone AS (DELETE FROM application_month_counts c USING dup d \
         WHERE c.scope_province = d.scope_province AND c.month = d.month \
           AND c.service_code = d.service_code AND c.channel = d.channel \
         RETURNING c.scope_province, c.month, c.service_code, c.channel, c.received) \
     INSERT INTO application_month_counts (scope_province, month, service_code, channel, received) \
     SELECT scope_province, month, service_code, channel, SUM(received) FROM gone GROUP BY 1, 2, 3, 4";
    store.exec().transaction(vec![Stmt::new(COMPACT, vec![])]).await
}

/// [`month_counts`] from the rollup: months `[from, to)` of a province or the nation.
async fn month_rollup(
    store: &dyn Store,
    w: &ReportWindow,
    from: String,
    to: String,
) -> Result<Vec<MonthFigures>> {
    let (scope, scope_params) = rows::scope_where(&w.scope, "scope_{level} = #", 3);
    let mut params = vec![Val::Text(from), Val::Text(to)];
    params.extend(scope_params);
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT month, service_code, CAST(SUM(received) AS BIGINT), \
                 CAST(SUM(CASE WHEN channel = 'online' THEN received ELSE 0 END) AS BIGINT) \
                 FROM application_month_counts WHERE {scope} AND month >= $1 AND month < $2 \
                 GROUP BY 1, 2 HAVING SUM(received) > 0 ORDER BY 1, 2"
            ),
            params,
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(MonthFigures {
                month: r.text(0)?,
                commune: String::new(),
                service_code: r.text(1)?,
                received: count(r, 2)?,
                online: count(r, 3)?,
            })
        })
        .collect()
}

/// [`month_counts`] as one aggregate over the applications of the window.
pub async fn month_direct(
    store: &dyn Store,
    w: &ReportWindow,
    by_commune: bool,
) -> Result<Vec<MonthFigures>> {
    let month = if store.backend() == "postgres" {
        "to_char(submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM')"
    } else {
        "strftime('%Y-%m', submitted_at, '+7 hours')"
    };
    let commune = if by_commune { "scope_commune" } else { "''" };
    let (cond, params) = window_where(w, "", "submitted_at");
    let rows = store
        .exec()
        .query(
            &format!(
                "SELECT {month}, {commune}, service_code, COUNT(*), COUNT(CASE WHEN channel = 'online' THEN 1 END) \
                 FROM applications WHERE {cond} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            ),
            params,
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(MonthFigures {
                month: r.text(0)?,
                commune: r.text(1)?,
                service_code: r.text(2)?,
                received: count(r, 3)?,
                online: count(r, 4)?,
            })
        })
        .collect()
}
