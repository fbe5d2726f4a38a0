//! Roles and officer administration, on SQLite and PostgreSQL: a leader sees figures and no
//! record, an auditor reads and changes nothing, and an administrator creates, re-scopes,
//! deactivates and resets accounts from `/officers`, within their own scope.

use crate::common::*;
use dancu_store::{AuditFilter, NewOfficer, Role, Scope};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    a_leader_sees_figures_but_no_record,
    an_auditor_reads_but_changes_nothing,
    an_administrator_creates_an_account_from_the_page,
    a_refused_account_keeps_the_form_and_names_the_fields,
    deactivating_an_account_ends_its_tokens,
    a_password_reset_replaces_the_old_password,
    a_commune_administrator_cannot_grant_a_wider_scope,
);

async fn add(app: &TestApp, user: &str, role: Role, scope: Scope) -> i64 {
    let o = NewOfficer {
        username: user.into(),
        display_name: format!("Cán bộ {user}"),
        role,
        scope,
        password_hash: dancu_server::auth::hash_password(PASSWORD),
    };
    app.store.create_officer(&o).await.unwrap().id
}

fn rule(v: &Value) -> String {
    v["error"]["violations"][0]["rule"].as_str().unwrap_or_default().to_string()
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client().get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap()
}

async fn post_form(app: &TestApp, token: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client().post(format!("{}{path}", app.base)).bearer_auth(token).form(form).send().await.unwrap()
}

async fn login(app: &TestApp, user: &str, password: &str) -> reqwest::Response {
    app.client()
        .post(format!("{}/api/v1/auth/token", app.base))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn a_leader_sees_figures_but_no_record(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    add(app, "lanh_dao", Role::Leader, Scope::Commune(COMMUNE_A.into())).await;
    let t = app.token("lanh_dao").await;
    let a = app.citizen_a.personal_id.to_string();
    let r = get(app, &t, &format!("/api/v1/citizens/{a}")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(rule(&body(r).await), "role.figures_only");
    let r = get(app, &t, "/api/v1/citizens?name=nguyen").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Figures are open to a leader.
    assert_eq!(get(app, &t, "/api/v1/card-applications/board").await.status(), StatusCode::OK);
    assert_eq!(get(app, &t, "/api/v1/eid/stats").await.status(), StatusCode::OK);
    // The refused read is on the citizen's record, as denied.
    let f = AuditFilter { subject: Some(a), limit: 50, ..Default::default() };
    let log = app.store.list_audit(&f).await.unwrap().items;
    assert!(
        log.iter().any(|e| e.entry.actor == "officer:lanh_dao" && e.entry.outcome == "denied"),
        "{log:?}"
    );
    assert!(!log.iter().any(|e| e.entry.actor == "officer:lanh_dao" && e.entry.outcome == "ok"));
}

async fn an_auditor_reads_but_changes_nothing(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    add(app, "thanh_tra", Role::Auditor, Scope::Commune(COMMUNE_A.into())).await;
    let t = app.token("thanh_tra").await;
    let a = app.citizen_a.personal_id.to_string();
    let r = get(app, &t, &format!("/api/v1/citizens/{a}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let version = body(r).await["version"].as_i64().unwrap();
    let mut d = draft(&a, "Nguyễn", "Văn", "Ấn", "15/03/1985", "Nam", COMMUNE_A);
    d.permanent_detail = "Số 9 ngõ 1".into();
    let update = json!({"citizen": d, "expected_version": version, "reason": "thử"});
    let r =
        app.client().put(format!("{}/api/v1/citizens/{a}", app.base)).bearer_auth(&t).json(&update).send();
    let r = r.await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(rule(&body(r).await), "role.read_only");
    let r = app
        .post_json(
            &t,
            format!("{}/api/v1/card-applications", app.base),
            &json!({"personal_id": a, "kind": "first_issue", "reason": "x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let after = body(get(app, &t, &format!("/api/v1/citizens/{a}")).await).await;
    assert_eq!(after["version"].as_i64(), Some(version), "nothing changed");
    // The record page offers an auditor no change it would be refused.
    let page = get(app, &t, &format!("/citizens/{a}")).await.text().await.unwrap();
    assert!(page.contains(&a) && !page.contains("data-testid=\"record-actions\""), "{page}");
    let officer_page = get(app, &app.token("xa_a").await, &format!("/citizens/{a}")).await;
    assert!(officer_page.text().await.unwrap().contains("data-testid=\"record-actions\""));
}

async fn an_administrator_creates_an_account_from_the_page(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("admin").await;
    let form = [
        ("csrf", ""),
        ("username", "can_bo_moi"),
        ("display_name", "Nguyễn Thị Mới"),
        ("role", "auditor"),
        ("level", "commune"),
        ("unit", COMMUNE_A),
        ("password", "mat-khau-ban-dau-1"),
    ];
    let r = post_form(app, &t, "/officers", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = get(app, &t, "/officers").await.text().await.unwrap();
    assert!(page.contains("data-testid=\"officer-can_bo_moi\""), "{page}");
    assert!(page.contains("Thanh tra (chỉ xem)") && page.contains("Nguyễn Thị Mới"));
    let o = app.state.accounts.officer_by_username("can_bo_moi").await.unwrap().unwrap();
    assert_eq!((o.role, o.scope), (Role::Auditor, Scope::Commune(COMMUNE_A.into())));
    assert_eq!(login(app, "can_bo_moi", "mat-khau-ban-dau-1").await.status(), StatusCode::OK);
    // Only administrators see the page.
    let r = get(app, &app.token("xa_a").await, "/officers").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn a_refused_account_keeps_the_form_and_names_the_fields(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("admin").await;
    let form = [
        ("csrf", ""),
        ("username", "ab"),
        ("display_name", "Trần Văn Gõ"),
        ("role", "officer"),
        ("level", "commune"),
        ("unit", "12"),
        ("password", "ngan"),
    ];
    let r = post_form(app, &t, "/officers", &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    for field in ["username", "scope", "password"] {
        assert!(page.contains(&format!("data-testid=\"error-{field}\"")), "{field}: {page}");
    }
    assert!(page.contains("value=\"Trần Văn Gõ\""), "what was typed stays");
    assert!(!page.contains("value=\"ngan\""), "the password is never sent back");
    assert!(app.state.accounts.officer_by_username("ab").await.unwrap().is_none());
}

async fn deactivating_an_account_ends_its_tokens(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let id = add(app, "tam_nghi", Role::Officer, Scope::Commune(COMMUNE_A.into())).await;
    let officer_token = app.token("tam_nghi").await;
    let a = app.citizen_a.personal_id.to_string();
    assert_eq!(get(app, &officer_token, &format!("/api/v1/citizens/{a}")).await.status(), StatusCode::OK);
    let t = app.token("admin").await;
    // Unticked "active", moved to commune B, made an auditor.
    let form = [("csrf", ""), ("role", "auditor"), ("level", "commune"), ("unit", COMMUNE_B)];
    let r = post_form(app, &t, &format!("/officers/{id}"), &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let o = app.state.accounts.officer(id).await.unwrap().unwrap();
    assert_eq!((o.active, o.role, o.scope), (false, Role::Auditor, Scope::Commune(COMMUNE_B.into())));
    let r = get(app, &officer_token, &format!("/api/v1/citizens/{a}")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the old token stopped working");
    assert_ne!(login(app, "tam_nghi", PASSWORD).await.status(), StatusCode::OK);
}

async fn a_password_reset_replaces_the_old_password(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let id = add(app, "quen_mk", Role::Officer, Scope::Commune(COMMUNE_A.into())).await;
    let old_token = app.token("quen_mk").await;
    let t = app.token("admin").await;
    let r =
        post_form(app, &t, &format!("/officers/{id}/password"), &[("csrf", ""), ("password", "ngan")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let form = [("csrf", ""), ("password", "mat-khau-tam-thoi-9")];
    let r = post_form(app, &t, &format!("/officers/{id}/password"), &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(login(app, "quen_mk", "mat-khau-tam-thoi-9").await.status(), StatusCode::OK);
    assert_eq!(login(app, "quen_mk", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    let a = app.citizen_a.personal_id.to_string();
    assert_eq!(
        get(app, &old_token, &format!("/api/v1/citizens/{a}")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The reset is audited under the officer, without the password.
    let f = AuditFilter { subject: Some("officer:quen_mk".into()), limit: 10, ..Default::default() };
    let log = app.store.list_audit(&f).await.unwrap().items;
    assert!(
        log.iter().any(|e| e.entry.action == "officer.password_reset" && e.entry.outcome == "ok"),
        "{log:?}"
    );
}

async fn a_commune_administrator_cannot_grant_a_wider_scope(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    add(app, "qt_xa", Role::Admin, Scope::Commune(COMMUNE_A.into())).await;
    let t = app.token("qt_xa").await;
    let form = [
        ("csrf", ""),
        ("username", "tinh_moi"),
        ("display_name", "Lê Văn Tỉnh"),
        ("role", "officer"),
        ("level", "province"),
        ("unit", "01"),
        ("password", "mat-khau-ban-dau-1"),
    ];
    let r = post_form(app, &t, "/officers", &form).await;
    assert!(!r.status().is_success() && r.status() != StatusCode::SEE_OTHER, "{}", r.status());
    assert!(app.state.accounts.officer_by_username("tinh_moi").await.unwrap().is_none());
    // The page lists only the accounts inside the administrator's commune.
    let page = get(app, &t, "/officers").await.text().await.unwrap();
    assert!(page.contains("officer-xa_a") && !page.contains("officer-xa_b"), "{page}");
}
