//! dancu-report against both backends: every figure of a report equals a direct count over
//! the seeded rows; scope, legacy units, submitted figures, zero denominators, and every
//! format rendered. `libreoffice.rs` opens the files in LibreOffice.

mod libreoffice;
mod seed;

use chrono::NaiveDate;
use dancu_report::compute::{compute, read_counts, window};
use dancu_report::indicators::{AppCounts, Value};
use dancu_report::{ApprovedFigure, Format, Narrative, Period, Report, ReportUnit};
use dancu_store::exec::Val;
use dancu_store::registry::Access;
use dancu_store::{Role, Scope};
use seed::Db;

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 9, 10).unwrap()
}

pub fn figures() -> Vec<ApprovedFigure> {
    let f = |unit: &str, month: &str, form: &str, row: &str, column: &str, value: i64| ApprovedFigure {
        unit: unit.into(),
        month: month.into(),
        form: form.into(),
        row: row.into(),
        column: column.into(),
        value,
    };
    vec![
        f("00004", "2025-08", "services", "power_connection", "received", 40),
        f("00004", "2025-08", "services", "power_connection", "online", 30),
        f("00008", "2025-08", "services", "power_connection", "received", 10),
        f("00008", "2025-08", "services", "power_connection", "online", 10),
        f("00004", "2025-08", "outreach", "propaganda_sessions", "count", 3),
        f("00008", "2025-08", "outreach", "propaganda_sessions", "count", 4),
        f("01", "2025-08", "outreach", "media_items", "count", 12),
        f("00004", "2025-07", "outreach", "propaganda_sessions", "count", 100),
        f("25747", "2025-08", "outreach", "propaganda_sessions", "count", 50),
    ]
}

pub async fn report(db: &Db, unit: &str, period: &str) -> Report {
    let unit = ReportUnit::parse(unit).unwrap();
    let period = Period::parse(period).unwrap();
    let a = Access::system("report", "báo cáo Đề án 06");
    let counts = read_counts(&db.registry, &a, &unit, &period, today()).await.unwrap();
    let months = period.months();
    let figs: Vec<_> = figures().into_iter().filter(|f| months.contains(&f.month)).collect();
    compute(
        &unit,
        &period,
        &counts,
        &figs,
        Narrative::default(),
        window(Scope::Nation, &period, today()).as_of,
    )
}

/// The direct counts of applications of `scope_col = code` (or all) in the window.
async fn direct_apps(db: &Db, cond: &str, code: &str, period: &Period, as_of: NaiveDate, extra: &str) -> i64 {
    let (from, to) = period.window();
    db.count(
        &format!(
            "SELECT COUNT(*) FROM applications WHERE {cond} = $1 AND submitted_at >= $2 AND submitted_at < $3 AND ({extra})"
        ),
        vec![Val::Text(code.into()), Val::Ts(from), Val::Ts(to), Val::Text(as_of.to_string())]
            .into_iter()
            .take(if extra.contains("$4") { 4 } else { 3 })
            .collect(),
    )
    .await
}

const OVERDUE: &str =
    "on_time = 0 OR (state IN ('submitted', 'accepted', 'in_process', 'info_requested') AND due_date < $4)";

async fn figures_equal_direct_counts(db: &Db) {
    seed::seed(db, 600).await;
    for period_text in ["2025-08", "2025-08/16", "2025-Q3"] {
        let r = report(db, "01", period_text).await;
        let p = r.period;
        let sub = |service: &str, col: &str| -> i64 {
            figures()
                .iter()
                .filter(|f| {
                    p.months().contains(&f.month)
                        && f.row == service
                        && f.column == col
                        && ["00004", "00008", "01"].contains(&f.unit.as_str())
                })
                .map(|f| f.value)
                .sum()
        };
        for s in &r.services {
            let c = |extra: &'static str| direct_apps(db, "scope_province", "01", &p, r.as_of, extra);
            let extra = |e: &str| format!("service_code = '{}' AND ({e})", s.code);
            let k = &s.counts;
            let (from, to) = p.window();
            let q = |e: String| {
                let params = vec![Val::Ts(from), Val::Ts(to), Val::Text(r.as_of.to_string())];
                let sql = format!(
                    "SELECT COUNT(*) FROM applications WHERE scope_province = '01' AND submitted_at >= $1 AND submitted_at < $2 AND ({e}) AND $3 <> ''"
                );
                async move { db.count(&sql, params).await }
            };
            let _ = c;
            assert_eq!(
                k.received,
                q(extra("TRUE")).await + sub(&s.code, "received"),
                "{period_text} {} received",
                s.code
            );
            assert_eq!(
                k.online,
                q(extra("channel = 'online'")).await + sub(&s.code, "online"),
                "{} online",
                s.code
            );
            assert_eq!(k.on_time, q(extra("on_time = 1")).await, "{} on time", s.code);
            assert_eq!(k.overdue, q(extra(&OVERDUE.replace("$4", "$3"))).await, "{} overdue", s.code);
            assert_eq!(k.not_accepted, q(extra("state = 'not_accepted'")).await, "{} not accepted", s.code);
            let reasons: u64 = s.reasons.iter().map(|(_, n)| n).sum();
            assert_eq!(reasons as i64, k.not_accepted, "{} reasons add up", s.code);
        }
        // Unit by unit: each commune's row is its direct count; the rows add up to the total.
        let mut sum = AppCounts::default();
        for u in &r.units {
            let received = direct_apps(db, "scope_commune", &u.code, &p, r.as_of, "TRUE").await;
            let sub: i64 = figures()
                .iter()
                .filter(|f| {
                    p.months().contains(&f.month)
                        && f.unit == u.code
                        && f.form == "services"
                        && f.column == "received"
                })
                .map(|f| f.value)
                .sum();
            assert_eq!(u.counts.received, received + sub, "{} {}", period_text, u.code);
            let overdue = direct_apps(db, "scope_commune", &u.code, &p, r.as_of, OVERDUE).await;
            assert_eq!(u.counts.overdue, overdue, "{} overdue", u.code);
            sum.add(&u.counts);
        }
        assert_eq!(sum, r.service_total(), "{period_text}: the units add up to the services");
        // The other sources.
        let (from, to) = p.window();
        let w = || vec![Val::Ts(from), Val::Ts(to)];
        let cards = db
            .count(
                "SELECT COUNT(*) FROM card_application_events e, card_applications a WHERE a.id = e.application_id \
                 AND a.scope_province = '01' AND e.to_stage = 'intake' AND e.at >= $1 AND e.at < $2",
                w(),
            )
            .await;
        assert_eq!(r.value("cards_intake"), Some(Value::Count(cards)));
        let reg = db
            .count(
                "SELECT COUNT(*) FROM eid_events e, eid_accounts a WHERE a.personal_id = e.personal_id \
                 AND a.scope_province = '01' AND e.event = 'register' AND e.at >= $1 AND e.at < $2",
                w(),
            )
            .await;
        let act = db
            .count(
                "SELECT COUNT(*) FROM eid_events e, eid_accounts a WHERE a.personal_id = e.personal_id \
                 AND a.scope_province = '01' AND e.event = 'activate' AND e.at >= $1 AND e.at < $2",
                w(),
            )
            .await;
        assert_eq!(r.value("eid_registered"), Some(Value::Count(reg)));
        assert_eq!(r.value("eid_activation_share"), Some(Value::Rate { num: act, den: reg }));
        let ok = db
            .count(
                "SELECT COUNT(*) FROM eid_logins l, eid_accounts a WHERE a.personal_id = l.personal_id \
                 AND a.scope_province = '01' AND l.outcome = 'ok' AND l.at >= $1 AND l.at < $2",
                w(),
            )
            .await;
        assert_eq!(r.value("logins_ok"), Some(Value::Count(ok)));
        let docs = db
            .count(
                "SELECT COUNT(*) FROM application_documents d, applications a WHERE a.id = d.application_id \
                 AND a.scope_province = '01' AND d.reused = 0 AND d.at >= $1 AND d.at < $2",
                w(),
            )
            .await;
        assert_eq!(r.value("docs_digitised"), Some(Value::Count(docs)));
        let run = db.count("SELECT MAX(id) FROM quality_runs WHERE at >= $1 AND at < $2", w()).await;
        let found = db
            .count(
                "SELECT CAST(COALESCE(SUM(found), 0) AS BIGINT) FROM quality_counts WHERE scope_province = '01' AND run_id = $1",
                vec![Val::Int(run)],
            )
            .await;
        assert_eq!(r.value("quality_found"), Some(Value::Count(found)), "{period_text}");
        // Submitted: only the months of the period, only the province's units.
        let sessions: i64 = figures()
            .iter()
            .filter(|f| p.months().contains(&f.month) && f.row == "propaganda_sessions" && f.unit != "25747")
            .map(|f| f.value)
            .sum();
        assert_eq!(r.value("propaganda_sessions"), Some(Value::Count(sessions)));
        // Partner calls are nation-wide: none in a province report.
        assert_eq!(r.value("verify_calls"), Some(Value::Count(0)));
        assert_eq!(r.value("verify_success_share"), Some(Value::Rate { num: 0, den: 0 }));
        assert_eq!(r.value("verify_success_share").unwrap().display(), "—");
    }
    // The window's edges: 1 Aug 00:00 (+07) is in August, 31 Jul 23:59:59 is not.
    let r = report(db, "nation", "2025-08").await;
    let ids = db
        .count(
            "SELECT COUNT(*) FROM applications WHERE id IN (1, 3) AND submitted_at >= $1 AND submitted_at < $2",
            vec![Val::Ts(r.period.window().0), Val::Ts(r.period.window().1)],
        )
        .await;
    assert_eq!(ids, 2);
    let all = db
        .count(
            "SELECT COUNT(*) FROM applications WHERE submitted_at >= $1 AND submitted_at < $2",
            vec![Val::Ts(r.period.window().0), Val::Ts(r.period.window().1)],
        )
        .await;
    assert_eq!(
        r.value("apps_received"),
        Some(Value::Count(all + 50)),
        "nation: every application and the submitted"
    );
    let verify = db
        .count(
            "SELECT CAST(SUM(count) AS BIGINT) FROM partner_counts WHERE operation = 'verify' AND day >= '2025-08-01' AND day <= '2025-08-31'",
            vec![],
        )
        .await;
    assert_eq!(r.value("verify_calls"), Some(Value::Count(verify)));
    assert_eq!(r.units.len(), 34, "the nation's rows are the 34 provinces");

    // A commune report is that commune's count; a legacy district report adds its communes.
    let c = report(db, "00004", "2025-08").await;
    let direct = direct_apps(db, "scope_commune", "00004", &c.period, c.as_of, "TRUE").await;
    assert_eq!(c.value("apps_received"), Some(Value::Count(direct + 40)));
    let legacy = report(db, "legacy:01", "2025-08").await;
    let held: i64 = legacy.units.iter().map(|u| u.counts.received).sum();
    assert_eq!(legacy.value("apps_received"), Some(Value::Count(held)));
    assert!(legacy.units.iter().any(|u| u.counts.received > 0), "{:?}", legacy.units);

    // A commune officer cannot read the province.
    let officer = Access {
        actor: "officer:xa".into(),
        role: Role::Officer,
        scope: Scope::Commune("00008".into()),
        purpose: "báo cáo".into(),
    };
    let p = Period::parse("2025-08").unwrap();
    let err = db
        .registry
        .report_counts(&officer, &window(Scope::Province("01".into()), &p, today()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("outside scope"), "{err}");
    assert!(db
        .registry
        .report_counts(&officer, &window(Scope::Commune("00008".into()), &p, today()))
        .await
        .is_ok());

    // Every format renders; the zero-denominator rows show "—", never #DIV/0!.
    let r = report(db, "01", "2025-08").await;
    for f in Format::ALL {
        let bytes = dancu_report::render(&r, f).unwrap();
        assert!(bytes.len() > 1000, "{f:?}");
    }
    let html = String::from_utf8(dancu_report::render(&r, Format::Html).unwrap()).unwrap();
    assert!(html.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") && html.contains("Phụ lục I"));
    assert!(html.contains("—") && !html.contains("DIV/0"));
}

#[tokio::test]
async fn sqlite_figures_equal_direct_counts() {
    let db = seed::sqlite().await;
    figures_equal_direct_counts(&db).await;
    db.finish().await;
}

#[tokio::test]
async fn postgres_figures_equal_direct_counts() {
    let Some(db) = seed::postgres().await else { return };
    figures_equal_direct_counts(&db).await;
    db.finish().await;
}
