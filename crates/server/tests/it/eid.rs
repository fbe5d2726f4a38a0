//! Electronic identity accounts and the citizen portal over HTTP, on SQLite and PostgreSQL:
//! level-1 registration against the registry, approval in scope, login with password and
//! TOTP (replay refused), "who accessed my data", locking, the officer-verified password
//! reset, brute-force throttling, the level-2 upgrade and the old-CMND confirmation.

use crate::common::*;
use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

pub(crate) const CITIZEN_PW: &str = "mat-khau-cong-dan-1";

on_both_backends!(
    level_1_registration_is_checked_against_the_record,
    login_waits_for_approval_in_scope,
    login_needs_the_password_the_code_and_the_form_token,
    the_right_code_activates_and_cannot_be_replayed,
    officer_reads_show_in_the_portal_access_log,
    locking_ends_the_session,
    an_officer_reset_gives_a_new_password_and_secret,
    level_2_upgrade_and_documents,
    throttling_does_not_reveal_accounts,
    cmnd_confirmation,
);

async fn level_1_registration_is_checked_against_the_record(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    registration(app).await;
}

/// The level-2 upgrade (on an activated account) and integrated documents.
async fn level_2_upgrade_and_documents(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = approved(app).await;
    logged_in(app, &secret).await;
    upgrade_and_documents(app).await;
}

fn rule(v: &Value) -> String {
    v["error"]["violations"][0]["rule"].as_str().unwrap_or_default().to_string()
}

pub(crate) fn register_body(app: &TestApp) -> Value {
    json!({
        "personal_id": app.citizen_a.personal_id.to_string(),
        "full_name": "NGUYỄN VĂN ẤN",
        "birth_date": "15/03/1985",
        "sex": "Nam",
        "phone": "0912 345 678",
        "portrait_captured": true,
        "password": CITIZEN_PW,
    })
}

pub(crate) async fn register(app: &TestApp, b: &Value) -> Response {
    app.client().post(format!("{}/api/v1/eid/registrations", app.base)).json(b).send().await.unwrap()
}

/// Level-1 registration: every mismatch with the record is refused with one answer
/// (`eid.claim_mismatch`), and an unknown personal ID answers exactly like it; the claim's
/// own rules name their field. Returns the TOTP secret.
pub(crate) async fn registration(app: &TestApp) -> String {
    let good = register_body(app);
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("birth_date", json!("16/03/1985")), "eid.claim_mismatch"),
        (with("full_name", json!("Nguyễn Văn Anh")), "eid.claim_mismatch"),
        (with("sex", json!("Nữ")), "eid.claim_mismatch"),
        (with("portrait_captured", json!(false)), "eid.portrait_missing"),
        (with("phone", json!("12345")), "eid.phone_format"),
        (with("password", json!("short")), "password.weak"),
        (with("birth_date", json!("31/02/1985")), "date.invalid"),
    ];
    for (b, want) in cases {
        let r = register(app, &b).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{want}");
        let v = body(r).await;
        assert!(rule(&v).starts_with(want.split('.').next().unwrap()), "{want}: {v}");
        if want.starts_with("eid.") {
            assert_eq!(rule(&v), want);
        }
    }
    // An ID with no record, and one outside every record, answer like a wrong name.
    let unknown = with("personal_id", json!("001085009999"));
    let v = body(register(app, &unknown).await).await;
    let wrong_name = body(register(app, &with("full_name", json!("Lê Văn Khác"))).await).await;
    assert_eq!(v, wrong_name, "an unknown ID must answer like a wrong name");
    assert_eq!(rule(&v), "eid.claim_mismatch");
    // Nothing was stored by the refusals.
    let t = app.token("xa_a").await;
    let r = app.api_get(&t, &format!("/api/v1/eid/accounts/{}", app.citizen_a.personal_id)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = register(app, &good).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v = body(r).await;
    assert_eq!(v["state"], "registered");
    let secret = v["totp_secret"].as_str().unwrap().to_string();
    assert!(v["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/"));
    let again = body(register(app, &good).await).await;
    assert_eq!(rule(&again), "eid.account_exists");
    secret
}

pub(crate) fn code_now(secret: &str, offset_steps: i64) -> String {
    let raw = dancu_identity::totp::secret_from_base32(secret).unwrap();
    let unix = chrono::Utc::now().timestamp() + offset_steps * 30;
    dancu_identity::totp::generate(&raw, unix as u64)
}

/// Logs in through the portal form; the response of the login POST.
pub(crate) async fn portal_login(app: &TestApp, jar: &mut Jar, id: &str, pw: &str, code: &str) -> Response {
    get(app, jar, "/portal").await;
    let csrf = jar.get("dancu_portal_csrf").expect("portal CSRF cookie");
    post_form(
        app,
        jar,
        "/portal/login",
        &[("personal_id", id), ("password", pw), ("code", code), ("csrf", &csrf)],
    )
    .await
}

async fn event(app: &TestApp, user: &str, id: &str, b: Value) -> Response {
    let t = app.token(user).await;
    app.client()
        .post(format!("{}/api/v1/eid/accounts/{id}/events", app.base))
        .bearer_auth(&t)
        .json(&b)
        .send()
        .await
        .unwrap()
}

/// Registered, and approved by commune A's officer: the TOTP secret.
pub(crate) async fn approved(app: &TestApp) -> String {
    let secret = registration(app).await;
    let id = app.citizen_a.personal_id.to_string();
    let r = event(app, "xa_a", &id, json!({"event": "approve", "expected_version": 1})).await;
    assert_eq!(r.status(), StatusCode::OK);
    secret
}

/// Logged in through the portal (which activates an approved account): the citizen's jar.
pub(crate) async fn logged_in(app: &TestApp, secret: &str) -> Jar {
    let id = app.citizen_a.personal_id.to_string();
    let mut jar = Jar::default();
    let r = portal_login(app, &mut jar, &id, CITIZEN_PW, &code_now(secret, 0)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    jar
}

/// The citizen locks their own account from the portal (a wrong form token is refused).
async fn lock_from_the_portal(app: &TestApp, jar: &mut Jar) {
    let csrf = {
        let page = get(app, jar, "/portal/me").await.text().await.unwrap();
        let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
        page[at..at + 64].to_string()
    };
    let r =
        post_form(app, jar, "/portal/lock", &[("csrf", "wrong"), ("action", "lock"), ("reason", "x")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post_form(
        app,
        jar,
        "/portal/lock",
        &[("csrf", &csrf), ("action", "lock"), ("reason", "mất điện thoại")],
    )
    .await;
    assert_eq!(r.headers()[LOCATION], "/portal");
}

/// Login waits for the approval, which only an officer covering the commune can give.
async fn login_waits_for_approval_in_scope(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = registration(app).await;
    let secret = secret.as_str();
    let id = app.citizen_a.personal_id.to_string();
    let mut jar = Jar::default();

    // Not approved yet: refused with the reason, no session.
    let r = portal_login(app, &mut jar, &id, CITIZEN_PW, &code_now(secret, 0)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("đang chờ phê duyệt"));
    assert!(jar.get("dancu_citizen").is_none());

    // Commune B's officer cannot see or approve the account; commune A's can.
    assert_eq!(event(app, "xa_b", &id, json!({"event": "approve"})).await.status(), StatusCode::NOT_FOUND);
    let r = event(app, "xa_a", &id, json!({"event": "approve", "expected_version": 1})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["state"]["state"], "approved");
    let again = event(app, "xa_a", &id, json!({"event": "approve"})).await;
    assert_eq!(rule(&body(again).await), "eid.transition");
}

/// A wrong password, a wrong code or a missing form token: refused, no session.
async fn login_needs_the_password_the_code_and_the_form_token(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = approved(app).await;
    let secret = secret.as_str();
    let id = app.citizen_a.personal_id.to_string();
    let mut jar = Jar::default();

    let r = portal_login(app, &mut jar, &id, "sai-mat-khau-xx", &code_now(secret, 0)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = portal_login(app, &mut jar, &id, CITIZEN_PW, "000000").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("Mã xác thực"));
    assert!(jar.get("dancu_citizen").is_none());
    // Without the form token: refused.
    let r = post_form(
        app,
        &mut Jar::default(),
        "/portal/login",
        &[("personal_id", &id), ("password", CITIZEN_PW), ("code", &code_now(secret, 0)), ("csrf", "x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// The right code logs in and activates the account; the same code again is a replay.
async fn the_right_code_activates_and_cannot_be_replayed(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = approved(app).await;
    let secret = secret.as_str();
    let id = app.citizen_a.personal_id.to_string();
    let mut jar = Jar::default();

    // The right code logs in and activates the approved account.
    let code = code_now(secret, 0);
    let r = portal_login(app, &mut jar, &id, CITIZEN_PW, &code).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/portal/me");
    assert!(jar.get("dancu_citizen").is_some());
    let me = get(app, &mut jar, "/portal/me").await.text().await.unwrap();
    assert!(me.contains("Đã kích hoạt") && me.contains("Nguyễn Văn Ấn"), "{me}");
    // The same code again is a replay.
    let mut other = Jar::default();
    let r = portal_login(app, &mut other, &id, CITIZEN_PW, &code).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("đã được sử dụng"));
}

/// An officer's read, with its purpose, shows in the citizen's "who accessed my data".
async fn officer_reads_show_in_the_portal_access_log(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = approved(app).await;
    let mut jar = logged_in(app, &secret).await;
    let id = app.citizen_a.personal_id.to_string();

    // An officer reads the record with a purpose; the citizen sees it.
    let t = app.token("xa_a").await;
    let r = app
        .client()
        .get(format!("{}/api/v1/citizens/{id}", app.base))
        .bearer_auth(&t)
        .query(&[("purpose", "xác minh hồ sơ cư trú")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let log = get(app, &mut jar, "/portal/access").await.text().await.unwrap();
    assert!(log.contains("Cán bộ xa_a") && log.contains("xác minh hồ sơ cư trú"), "{log}");
}

/// Locking ends the session; the officer sees the lock and no secret.
async fn locking_ends_the_session(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = approved(app).await;
    let mut jar = logged_in(app, &secret).await;
    let id = app.citizen_a.personal_id.to_string();
    let t = app.token("xa_a").await;
    lock_from_the_portal(app, &mut jar).await;
    let r = get(app, &mut jar, "/portal/me").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the session ended with the lock");
    let v = body(app.api_get(&t, &format!("/api/v1/eid/accounts/{id}")).await).await;
    assert_eq!(v["account"]["state"]["state"], "locked");
    assert_eq!(v["account"]["state"]["by"], "citizen");
    assert!(v["account"].get("password_hash").is_none() && v["account"].get("totp_secret").is_none());
    let events: Vec<&str> =
        v["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events, vec!["register", "approve", "activate", "lock"]);
}

/// An officer unlocks (with a reason) and issues a reset code; the citizen resets the
/// password and gets a new TOTP secret; the code is spent; the old password no longer works.
async fn an_officer_reset_gives_a_new_password_and_secret(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = approved(app).await;
    let mut jar = logged_in(app, &secret).await;
    let id = app.citizen_a.personal_id.to_string();
    let t = app.token("xa_a").await;
    lock_from_the_portal(app, &mut jar).await;

    let r = event(app, "xa_a", &id, json!({"event": "unlock"})).await;
    assert_eq!(rule(&body(r).await), "reason.required");
    let r = event(app, "xa_a", &id, json!({"event": "unlock", "reason": "công dân đề nghị"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.api_post(&t, &format!("/api/v1/eid/accounts/{id}/reset-code")).await;
    let code = body(r).await["code"].as_str().unwrap().to_string();
    let mut jar = Jar::default();
    get(app, &mut jar, "/portal/reset").await;
    let csrf = jar.get("dancu_portal_csrf").unwrap();
    let new_pw = "mat-khau-moi-2026";
    let r = post_form(
        app,
        &mut jar,
        "/portal/reset",
        &[("personal_id", &id), ("code", "00000-00000"), ("password", new_pw), ("csrf", &csrf)],
    )
    .await;
    assert!(r.text().await.unwrap().contains("không đúng hoặc đã hết hạn"));
    // Each form page sets a fresh token.
    let csrf = jar.get("dancu_portal_csrf").unwrap();
    let r = post_form(
        app,
        &mut jar,
        "/portal/reset",
        &[("personal_id", &id), ("code", &code), ("password", new_pw), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    let at = page.find("data-testid=\"totp-secret\"").unwrap();
    let rest = &page[at..];
    let new_secret = rest[rest.find('>').unwrap() + 1..rest.find("</code>").unwrap()].to_string();
    // The code is spent.
    get(app, &mut jar, "/portal/reset").await;
    let csrf = jar.get("dancu_portal_csrf").unwrap();
    let r = post_form(
        app,
        &mut jar,
        "/portal/reset",
        &[("personal_id", &id), ("code", &code), ("password", new_pw), ("csrf", &csrf)],
    )
    .await;
    assert!(r.text().await.unwrap().contains("không đúng hoặc đã hết hạn"));
    let mut jar = Jar::default();
    let r = portal_login(app, &mut jar, &id, CITIZEN_PW, &code_now(&new_secret, 1)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = portal_login(app, &mut jar, &id, new_pw, &code_now(&new_secret, 1)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn upgrade_and_documents(app: &TestApp) {
    let id = app.citizen_a.personal_id.to_string();
    // Level 2 needs a valid card.
    let r = event(app, "xa_a", &id, json!({"event": "upgrade_level_2", "biometrics_verified": true})).await;
    assert_eq!(rule(&body(r).await), "eid.card_missing");
    let t = app.token("xa_a").await;
    let c = app.client();
    let r = app.post_json(&t, format!("{}/api/v1/card-applications", app.base), &json!({"personal_id": id, "kind": "first_issue", "biometrics_captured": true, "reason": "cấp mới"})).await;
    let app_id = body(r).await["id"].as_i64().unwrap();
    for (v, to) in [(1, "sent_to_production"), (2, "card_received"), (3, "handed_over")] {
        let r = app
            .post_json(
                &t,
                format!("{}/api/v1/card-applications/{app_id}/transitions", app.base),
                &json!({"to": to, "expected_version": v}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{to}");
    }
    let r = event(app, "xa_a", &id, json!({"event": "upgrade_level_2", "biometrics_verified": false})).await;
    assert_eq!(rule(&body(r).await), "eid.biometrics_missing");
    let r = event(app, "xa_a", &id, json!({"event": "upgrade_level_2", "biometrics_verified": true})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["level"], "two");

    // Documents: a bad number names the rule; a good one is pending, then verified.
    let doc = |b: Value| {
        let c = c.clone();
        let t = t.clone();
        let url = format!("{}/api/v1/eid/accounts/{id}/documents", app.base);
        async move { c.post(url).bearer_auth(&t).json(&b).send().await.unwrap() }
    };
    let r = doc(json!({"kind": "social_insurance", "number": "12"})).await;
    assert_eq!(rule(&body(r).await), "eid.document_number");
    let r = doc(json!({"kind": "social_insurance", "number": "0123456789"})).await;
    assert_eq!(body(r).await["state"]["state"], "pending");
    let r = doc(json!({"kind": "social_insurance", "state": "rejected"})).await;
    assert_eq!(rule(&body(r).await), "eid.reason_required");
    let r = doc(json!({"kind": "social_insurance", "state": "verified"})).await;
    assert_eq!(body(r).await["state"]["state"], "verified");

    // Counts per level and state feed the reports.
    let stats = body(app.api_get(&t, "/api/v1/eid/stats").await).await;
    assert_eq!(stats[0]["level"], "two");
    assert_eq!(stats[0]["state"], "activated");
    assert_eq!(stats[0]["count"], 1);
    let tb = app.token("xa_b").await;
    let stats_b = body(app.api_get(&tb, "/api/v1/eid/stats").await).await;
    assert_eq!(stats_b, json!([]));
}

/// Repeated failures lock the personal ID out with the same answer whether or not it has an
/// account.
async fn throttling_does_not_reveal_accounts(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    registration(app).await;
    let with_account = app.citizen_a.personal_id.to_string();
    let without = app.citizen_b.personal_id.to_string();
    let mut answers = Vec::new();
    for id in [&with_account, &without] {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let mut jar = Jar::default();
            let r = portal_login(app, &mut jar, id, "sai-mat-khau-xx", "123456").await;
            statuses.push(r.status().as_u16());
        }
        answers.push(statuses);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], vec![401, 401, 401, 401, 401, 429]);
}

async fn cmnd_confirmation(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    // A's record has no old CMND number.
    let r =
        app.api_post(&t, &format!("/api/v1/citizens/{}/cmnd-confirmations", app.citizen_a.personal_id)).await;
    assert_eq!(rule(&body(r).await), "cmnd.none");
    let mut d = draft("001058001111", "Phạm", "Văn", "Cũ", "1958-04-04", "Nam", COMMUNE_A);
    d.cmnd = "012345678".into();
    let old = d.validate(chrono::Utc::now().date_naive()).unwrap();
    let change =
        dancu_store::Change { actor: "test".into(), reason: "test".into(), at: dancu_store::registry::now() };
    app.store.create_citizen(&old, &change).await.unwrap();
    let r = app.api_post(&t, "/api/v1/citizens/001058001111/cmnd-confirmations").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v = body(r).await;
    assert_eq!(v["cmnd"], "012345678");
    let number = v["number"].as_str().unwrap().to_string();
    let r = app.api_get(&t, &format!("/api/v1/cmnd-confirmations/{number}")).await;
    assert_eq!(body(r).await["personal_id"], "001058001111");
    // Commune B cannot read it.
    let tb = app.token("xa_b").await;
    let r = app.api_get(&tb, &format!("/api/v1/cmnd-confirmations/{number}")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
