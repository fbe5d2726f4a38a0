//! The Project 06 dashboard over HTTP, on SQLite and PostgreSQL: figures of the officer's
//! scope only, the SVG charts, filters refused with their rule, and the downloads.

use crate::common::*;
use reqwest::StatusCode;

on_both_backends!(dashboard_shows_scoped_figures_charts_and_downloads);

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, String, String) {
    let r = app.client().get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let status = r.status();
    let bytes = r.bytes().await.unwrap();
    (status, ct, String::from_utf8_lossy(&bytes).into_owned())
}

/// The text of a KPI box by its label.
fn kpi<'a>(html: &'a str, label: &str) -> &'a str {
    let after = html
        .split(&format!("<div class=\"kpi-label\">{label}</div>"))
        .nth(1)
        .unwrap_or_else(|| panic!("{label}"));
    after.split("<div class=\"kpi-value\">").nth(1).unwrap().split("</div>").next().unwrap()
}

async fn dashboard_shows_scoped_figures_charts_and_downloads(backend: &'static str) {
    let app = TestApp::start(backend).await;
    // Three applications this month: two in commune A (one online), one online in commune B.
    let now = dancu_store::registry::now();
    let ts = if backend == "sqlite" {
        format!("'{}'", now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    } else {
        format!("'{}'::timestamptz", now.to_rfc3339())
    };
    let due = (now + chrono::Duration::days(5)).date_naive();
    let (a, b) = (app.citizen_a.personal_id.to_string(), app.citizen_b.personal_id.to_string());
    let mut sql = String::new();
    for (id, pid, commune, channel) in
        [(1, &a, COMMUNE_A, "online"), (2, &a, COMMUNE_A, "desk"), (3, &b, COMMUNE_B, "online")]
    {
        sql.push_str(&format!(
            "INSERT INTO applications (id, service_code, personal_id, channel, unit, state, state_reason, submitted_at, due_date, \
             idempotency_key, scope_province, scope_commune, created_by, updated_at, updated_by, version) VALUES \
             ({id}, 'residence_permanent', '{pid}', '{channel}', '{commune}', 'submitted', '', {ts}, '{due}', 'k{id}', '01', '{commune}', 't', {ts}, 't', 1);"
        ));
    }
    app.sql(&sql).await;

    let province = app.token("tinh01").await;
    let (status, _, html) = get(&app, &province, "/reports").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(kpi(&html, "Hồ sơ tiếp nhận"), "3");
    assert_eq!(kpi(&html, "Tỷ lệ tiếp nhận trực tuyến"), "66,67%");
    for chart in ["chart-trend", "chart-ranking", "chart-services"] {
        let part = html.split(&format!("data-testid=\"{chart}\"")).nth(1).unwrap();
        assert!(part.contains("<svg"), "{chart}");
    }
    assert!(html.contains("Thành phố Hà Nội"));
    assert!(!html.contains("DIV/0"));
    for f in ["docx", "pdf", "xlsx", "html"] {
        let link = html
            .split("/reports/download?unit=01&amp;period=")
            .find(|l| l.contains(&format!("format={f}\"")));
        assert!(link.is_some(), "{f}");
    }
    // /reports/dashboard is the same page; a service filter narrows the per-service chart.
    let (status, _, html) = get(&app, &province, "/reports/dashboard?service=birth").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<option value=\"birth\" selected"));

    // A commune officer sees the commune by default, and not the province.
    let commune = app.token("xa_a").await;
    let (status, _, html) = get(&app, &commune, "/reports").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kpi(&html, "Hồ sơ tiếp nhận"), "2");
    assert_eq!(kpi(&html, "Tỷ lệ tiếp nhận trực tuyến"), "50,00%");
    let (status, _, html) = get(&app, &commune, "/reports?unit=01").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    let (status, _, _) = get(&app, &commune, &format!("/reports?unit={COMMUNE_B}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bad filters are refused with their rule.
    let (status, _, html) = get(&app, &province, "/reports?period=2025-13").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("YYYY-MM"), "{html}");

    // Downloads in every format.
    let period = chrono::Utc::now().format("%Y-%m").to_string();
    for (f, ct, magic) in [
        ("pdf", "application/pdf", "%PDF"),
        ("docx", "wordprocessingml", "PK"),
        ("xlsx", "spreadsheetml", "PK"),
        ("html", "text/html", "<!DOCTYPE html>"),
    ] {
        let (status, got, body) =
            get(&app, &province, &format!("/reports/download?unit=01&period={period}&format={f}")).await;
        assert_eq!(status, StatusCode::OK, "{f}: {body}");
        assert!(got.contains(ct), "{f}: {got}");
        assert!(body.starts_with(magic), "{f}");
    }
    let (status, _, _) =
        get(&app, &commune, &format!("/reports/download?unit=01&period={period}&format=pdf")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
