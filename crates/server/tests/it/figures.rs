//! Submitted figures on SQLite and PostgreSQL: an upload with an online count above its
//! total refused naming the cell, with nothing stored; a valid upload; a refused web form
//! kept filled; the review flow (submit, return with a reason, resubmit, approve) with its
//! history and the approved values reports read; scope and roles.

use crate::common::*;
use dancu_store::{NewOfficer, Role, Scope};
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    upload_with_online_above_received_is_refused_naming_the_cell,
    a_valid_upload_is_stored,
    a_refused_web_form_stays_filled,
    review_flow_keeps_its_history,
    figures_stay_within_scope,
);

const MONTH: &str = "2026-01";

/// An agency officer (the electricity company's) for commune A, and the app.
async fn start(backend: &'static str) -> TestApp {
    let app = TestApp::start(backend).await;
    app.store
        .create_officer(&NewOfficer {
            username: "dien_a".into(),
            display_name: "Cán bộ Điện lực".into(),
            role: Role::Agency,
            scope: Scope::Commune(COMMUNE_A.into()),
            password_hash: password_hash(),
        })
        .await
        .unwrap();
    app
}

fn services_xlsx(rows: &[(&str, [f64; 5])]) -> Vec<u8> {
    let form = dancu_tables::forms::form("services").unwrap();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in dancu_tables::forms::template_header(form).iter().enumerate() {
        ws.write(0, c as u16, h.as_str()).unwrap();
    }
    for (i, (code, vals)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write(r, 0, *code).unwrap();
        ws.write(r, 1, "…").unwrap();
        for (j, v) in vals.iter().enumerate() {
            ws.write(r, 2 + j as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

async fn upload(app: &TestApp, user: &str, name: &str, bytes: Vec<u8>, action: &str) -> reqwest::Response {
    let t = app.token(user).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", "")
        .text("unit", COMMUNE_A)
        .text("month", MONTH)
        .text("form", "services")
        .text("action", action.to_string())
        .part("table", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
    app.client()
        .post(format!("{}/figures/upload", app.base))
        .bearer_auth(&t)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn listed(app: &TestApp, user: &str) -> serde_json::Value {
    let t = app.token(user).await;
    let r = app.api_get(&t, "/api/v1/figures").await;
    assert_eq!(r.status(), 200);
    body(r).await
}

async fn upload_with_online_above_received_is_refused_naming_the_cell(backend: &'static str) {
    let app = start(backend).await;
    // Row 5 of the sheet: 12 received online of 10 received.
    let bytes = services_xlsx(&[
        ("cmnd_confirm", [13.0, 13.0, 13.0, 0.0, 0.0]),
        ("card_renew", [2208.0, 349.0, 2208.0, 0.0, 0.0]),
        ("card_replace", [5.0, 0.0, 5.0, 0.0, 0.0]),
        ("residence_permanent", [10.0, 12.0, 9.0, 1.0, 0.0]),
    ]);
    let r = upload(&app, "dien_a", "bao_cao.xlsx", bytes, "submit").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-testid=\"upload-errors\""), "{html}");
    assert!(html.contains("<b>D5</b>") && html.contains("figures.online_above_received"), "{html}");
    assert_eq!(html.matches("data-testid=\"upload-error\"").count(), 1, "{html}");
    // Nothing stored, not even the valid rows.
    assert_eq!(listed(&app, "dien_a").await["total"], 0);
    assert!(app
        .state
        .registry
        .approved_figures(&[COMMUNE_A.into()], &[MONTH.into()])
        .await
        .unwrap()
        .is_empty());

    // A typed rate that does not match, a #DIV/0! and a wrong total row in a `;` CSV.
    let csv = "Mã (code);Tên;Tiếp nhận (received);Trực tuyến (online);Đúng hạn (on_time);Quá hạn (overdue);Không tiếp nhận (not_accepted);% trực tuyến (online_pct)\n\
cmnd_confirm;;10;5;10;0;0;60,00%\n\
card_renew;;0;0;0;0;0;#DIV/0!\n\
Tổng cộng;;11;5;10;0;0;\n";
    let r = upload(&app, "dien_a", "bao_cao.csv", csv.as_bytes().to_vec(), "save").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    for (cell, rule) in [
        ("H2", "figures.rate_mismatch"),
        ("H3", "figures.division_by_zero"),
        ("C4", "figures.total_mismatch"),
    ] {
        assert!(html.contains(&format!("<b>{cell}</b>")) && html.contains(rule), "{cell} {rule}: {html}");
    }
    assert_eq!(listed(&app, "dien_a").await["total"], 0);
}

async fn a_valid_upload_is_stored(backend: &'static str) {
    let app = start(backend).await;
    let csv = "Mã (code);Tên;Tiếp nhận (received);Trực tuyến (online);Đúng hạn (on_time);Quá hạn (overdue);Không tiếp nhận (not_accepted)\n\
power_connection;Cấp điện mới;974;934;970;4;0\n\
power_contract_change;;1.107;998;1.100;;2\n\
Tổng cộng;;2.081;1.932;2.070;4;2\n";
    let r = upload(&app, "dien_a", "dien.csv", csv.as_bytes().to_vec(), "submit").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let loc = r.headers()[reqwest::header::LOCATION].to_str().unwrap().to_string();
    let id = loc.strip_prefix("/figures/").unwrap();
    let t = app.token("dien_a").await;
    let page = body(app.api_get(&t, &format!("/api/v1/figures/{id}")).await).await;
    assert_eq!(page["submission"]["state"], "submitted");
    assert_eq!(page["submission"]["unit"], COMMUNE_A);
    let values = page["values"].as_array().unwrap();
    // Zeros are not stored: 8 values.
    assert_eq!(values.len(), 8, "{values:?}");
    assert!(values.contains(&json!({"row": "power_contract_change", "column": "received", "value": 1107})));
    assert_eq!(page["history"][0]["source"], "upload");
    assert_eq!(page["history"][0]["action"], "submit");
    // The submission page shows the figures.
    let html = app.page_text(&t, &loc).await;
    assert!(html.contains("data-testid=\"value-power_contract_change-received\">1.107<"), "{html}");
    // The template downloads as a workbook that reads back.
    let r = app.api_get(&t, "/figures/template/services").await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let sheets = dancu_tables::sheet::read_xlsx(&bytes).unwrap();
    assert_eq!(sheets[0].rows.len(), 26);
}

async fn a_refused_web_form_stays_filled(backend: &'static str) {
    let app = start(backend).await;
    let t = app.token("dien_a").await;
    let form = [
        ("csrf", ""),
        ("unit", COMMUNE_A),
        ("month", MONTH),
        ("form", "services"),
        ("action", "save"),
        ("v.birth.received", "10"),
        ("v.birth.online", "12"),
        ("v.death.received", "-3"),
        ("v.marriage.received", "7"),
    ];
    let r = app.form_post(&t, "/figures/entry", &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-testid=\"error-v.birth.online\""), "{html}");
    assert!(html.contains("data-testid=\"error-v.death.received\""), "{html}");
    // Every typed value is still there.
    for (name, value) in [("v.birth.online", "12"), ("v.death.received", "-3"), ("v.marriage.received", "7")]
    {
        assert!(html.contains(&format!("name=\"{name}\" value=\"{value}\"")), "{name}: {html}");
    }
    assert_eq!(listed(&app, "dien_a").await["total"], 0);
    // Corrected, it is saved as a draft.
    let mut ok = form.to_vec();
    ok.retain(|(k, _)| !k.starts_with("v."));
    ok.extend([("v.birth.received", "10"), ("v.birth.online", "8")]);
    let r = app.form_post(&t, "/figures/entry", &ok).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let l = listed(&app, "dien_a").await;
    assert_eq!((l["total"].as_u64(), l["items"][0]["state"].as_str()), (Some(1), Some("draft")));
}

async fn save(app: &TestApp, user: &str, unit: &str, online: u32, submit: bool) -> reqwest::Response {
    let t = app.token(user).await;
    let b = json!({
        "unit": unit, "month": MONTH, "form": "services", "submit": submit,
        "values": {"power_connection": {"received": 100, "online": online, "on_time": 90}},
    });
    app.post_json(&t, format!("{}/api/v1/figures", app.base), &b).await
}

/// Saves (and with `submit`, submits) figures that hold: the submission's id and version.
async fn saved(app: &TestApp, user: &str, unit: &str, online: u32, submit: bool) -> (i64, i64) {
    let r = save(app, user, unit, online, submit).await;
    assert_eq!(r.status(), 201);
    let s = body(r).await;
    (s["id"].as_i64().unwrap(), s["version"].as_i64().unwrap())
}

async fn transition(
    app: &TestApp,
    user: &str,
    id: i64,
    action: &str,
    version: i64,
    reason: &str,
) -> reqwest::Response {
    let t = app.token(user).await;
    let b = json!({"action": action, "version": version, "reason": reason});
    app.post_json(&t, format!("{}/api/v1/figures/{id}/transitions", app.base), &b).await
}

async fn review_flow_keeps_its_history(backend: &'static str) {
    let app = start(backend).await;
    // A rule broken in the API answers 422 naming the value.
    let r = save(&app, "dien_a", COMMUNE_A, 120, false).await;
    assert_eq!(r.status(), 422);
    let b = body(r).await;
    assert_eq!(b["error"]["violations"][0]["field"], "values.power_connection.online");
    assert_eq!(b["error"]["violations"][0]["rule"], "figures.online_above_received");

    let r = save(&app, "dien_a", COMMUNE_A, 60, false).await;
    assert_eq!(r.status(), 201);
    let s = body(r).await;
    let id = s["id"].as_i64().unwrap();
    assert_eq!((s["state"].as_str(), s["version"].as_i64()), (Some("draft"), Some(1)));
    let r = transition(&app, "dien_a", id, "submit", 1, "").await;
    assert_eq!(r.status(), 200);
    // Not approved until the province says so.
    assert!(app
        .state
        .registry
        .approved_figures(&[COMMUNE_A.into()], &[MONTH.into()])
        .await
        .unwrap()
        .is_empty());
    // A commune officer does not review; the agency cannot approve.
    for user in ["xa_a", "dien_a"] {
        let r = transition(&app, user, id, "approve", 2, "").await;
        assert_eq!(r.status(), 403, "{user}");
        assert_eq!(body(r).await["error"]["violations"][0]["rule"], "figures.role_review");
    }
    // Returned, with a reason (required), on the version seen.
    let r = transition(&app, "tinh01", id, "return", 2, " ").await;
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "figures.reason_required");
    let r = transition(&app, "tinh01", id, "return", 1, "Số trực tuyến chưa khớp hệ thống").await;
    assert_eq!(
        (r.status().as_u16(), body(r).await["error"]["violations"][0]["rule"].clone()),
        (409, json!("figures.stale"))
    );
    let r = transition(&app, "tinh01", id, "return", 2, "Số trực tuyến chưa khớp hệ thống").await;
    assert_eq!(body(r).await["state"], "returned");
    // Corrected and submitted again in one save; then approved.
    let r = save(&app, "dien_a", COMMUNE_A, 70, true).await;
    assert_eq!(r.status(), 201);
    let s = body(r).await;
    assert_eq!((s["id"].as_i64(), s["state"].as_str()), (Some(id), Some("submitted")));
    // Approved from the submission's page (the province officer's form).
    let t = app.token("tinh01").await;
    let html = app.page_text(&t, &format!("/figures/{id}")).await;
    assert!(
        html.contains("data-testid=\"move-approve\"") && html.contains("data-testid=\"move-return\""),
        "{html}"
    );
    let version = s["version"].as_i64().unwrap().to_string();
    let form = [("csrf", ""), ("action", "approve"), ("version", version.as_str())];
    let r = app.form_post(&t, &format!("/figures/{id}/actions"), &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.page_text(&t, &format!("/figures/{id}")).await;
    assert!(html.contains("data-testid=\"state\">Đã duyệt<"), "{html}");
    assert!(!html.contains("data-testid=\"move-approve\""), "{html}");
    // Approved figures cannot change.
    let r = save(&app, "dien_a", COMMUNE_A, 71, false).await;
    assert_eq!(
        (r.status().as_u16(), body(r).await["error"]["violations"][0]["rule"].clone()),
        (409, json!("figures.not_editable"))
    );

    let t = app.token("tinh01").await;
    let page = body(app.api_get(&t, &format!("/api/v1/figures/{id}")).await).await;
    let h: Vec<(String, String, String, String)> = page["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (s("actor"), s("action"), s("to_state"), s("reason"))
        })
        .collect();
    let want = [
        ("officer:dien_a", "save", "draft", ""),
        ("officer:dien_a", "submit", "submitted", ""),
        ("officer:tinh01", "return", "returned", "Số trực tuyến chưa khớp hệ thống"),
        ("officer:dien_a", "submit", "submitted", ""),
        ("officer:tinh01", "approve", "approved", ""),
    ];
    let want: Vec<(String, String, String, String)> = want
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
    assert_eq!(h, want);
    // The page shows the history with the reason.
    let html = app.page_text(&t, &format!("/figures/{id}")).await;
    assert!(
        html.contains("Số trực tuyến chưa khớp hệ thống") && html.contains("data-testid=\"history\""),
        "{html}"
    );

    let approved = app
        .state
        .registry
        .approved_figures(&[COMMUNE_A.into(), COMMUNE_B.into()], &[MONTH.into()])
        .await
        .unwrap();
    let got: Vec<(String, String, i64)> =
        approved.iter().map(|f| (f.row.clone(), f.column.clone(), f.value)).collect();
    assert_eq!(
        got,
        vec![
            ("power_connection".into(), "on_time".into(), 90),
            ("power_connection".into(), "online".into(), 70),
            ("power_connection".into(), "received".into(), 100),
        ]
    );
    assert!(approved.iter().all(|f| f.unit == COMMUNE_A && f.month == MONTH && f.form == "services"));

    // A province's own figures: its officer submits, and may not approve them themself.
    let (own, version) = saved(&app, "tinh01", "01", 10, true).await;
    let r = transition(&app, "tinh01", own, "approve", version, "").await;
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "figures.own_submission");
    let r = transition(&app, "admin", own, "approve", version, "").await;
    assert_eq!(r.status(), 200);
}

async fn figures_stay_within_scope(backend: &'static str) {
    let app = start(backend).await;
    let (id, _) = saved(&app, "dien_a", COMMUNE_A, 50, true).await;
    // Commune B's officer: neither sees nor enters commune A's figures.
    let tb = app.token("xa_b").await;
    assert_eq!(app.api_get(&tb, &format!("/api/v1/figures/{id}")).await.status(), 404);
    assert_eq!(listed(&app, "xa_b").await["total"], 0);
    let r = save(&app, "xa_b", COMMUNE_A, 50, false).await;
    assert_eq!((r.status().as_u16(), body(r).await["error"]["code"].clone()), (403, json!("out_of_scope")));
    assert_eq!(transition(&app, "xa_b", id, "approve", 2, "").await.status(), 404);
    // The agency may not enter figures for its province, only its commune.
    let r = save(&app, "dien_a", "01", 5, false).await;
    assert_eq!(r.status(), 403);
    // The province sees it; another province's officer would not.
    assert_eq!(listed(&app, "tinh01").await["total"], 1);
    // An agency account reads no personal record.
    let t = app.token("dien_a").await;
    let r = app.api_get(&t, &format!("/api/v1/citizens/{}", app.citizen_a.personal_id)).await;
    assert_eq!(r.status(), 403);
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "role.figures_only");
    // Bad input to the list is named.
    let r = app.api_get(&t, "/api/v1/figures?state=done").await;
    assert_eq!(r.status(), 400);
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "figures.state");
}
