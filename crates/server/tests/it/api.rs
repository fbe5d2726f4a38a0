//! HTTP API behaviour against the real server, on SQLite and PostgreSQL.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    personal_data_needs_a_valid_token,
    a_wrong_password_is_refused,
    officers_read_only_citizens_in_their_scope,
    search_is_folded_and_scoped,
    officers_cannot_create_officers,
    invalid_citizens_are_refused_with_every_rule,
    bad_search_parameters_are_refused,
    updates_keep_history,
    households_need_one_head_and_keep_history,
    card_application_refusals_name_the_rule,
    hand_over_issues_the_card_with_its_expiry,
    board_and_list_by_stage,
    cards_are_hidden_outside_scope_and_audited,
    cards_due_for_renewal,
    reads_and_denied_reads_are_in_the_access_log,
    newborn_personal_ids_are_allocated,
    personal_data_is_never_cached_or_framed,
    ops_endpoints,
    login_throttle,
);

/// No personal data without login.
async fn personal_data_needs_a_valid_token(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let a_id = app.citizen_a.personal_id.to_string();
    let r = c.get(format!("{}/api/v1/citizens/{a_id}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(r).await["error"]["code"], "unauthorized");
    let r = c
        .get(format!("{}/api/v1/citizens/{a_id}", app.base))
        .bearer_auth("forged.token.value")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn a_wrong_password_is_refused(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let r = app
        .client()
        .post(format!("{}/api/v1/auth/token", app.base))
        .json(&json!({"username": "xa_a", "password": "wrong-password-x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body(r).await["error"]["code"], "invalid_credentials");
}

/// Commune A's officer reads commune A's citizen, and cannot see commune B's citizen, nor
/// tell it exists.
async fn officers_read_only_citizens_in_their_scope(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let a_id = app.citizen_a.personal_id.to_string();
    let b_id = app.citizen_b.personal_id.to_string();
    let t = app.token("xa_a").await;
    let r = c.get(format!("{}/api/v1/citizens/{a_id}", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(r).await;
    assert_eq!(v["citizen"]["name"]["given"], "Ấn");
    assert_eq!(v["scope_commune"], COMMUNE_A);

    // Commune A's officer cannot see commune B's citizen, and cannot tell it exists.
    let r = c.get(format!("{}/api/v1/citizens/{b_id}", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let denied = body(r).await;
    let r = c.get(format!("{}/api/v1/citizens/001099999999", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(r).await, denied, "out-of-scope and missing must answer alike");
}

/// Search: folded name, no marks; scoped.
async fn search_is_folded_and_scoped(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let a_id = app.citizen_a.personal_id.to_string();
    let b_id = app.citizen_b.personal_id.to_string();
    let t = app.token("xa_a").await;
    let r = c
        .get(format!("{}/api/v1/citizens?q=nguyen%20van&limit=10", app.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(r).await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["personal_id"], a_id.as_str());
    let r = c.get(format!("{}/api/v1/citizens?q=tran", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(body(r).await["total"], 0, "commune B's citizen must not be found by commune A");
    // The province officer sees both.
    let tp = app.token("tinh01").await;
    let r =
        c.get(format!("{}/api/v1/citizens?q=tran%20thi", app.base)).bearer_auth(&tp).send().await.unwrap();
    assert_eq!(body(r).await["total"], 1);
    let r = c.get(format!("{}/api/v1/citizens?q={b_id}", app.base)).bearer_auth(&tp).send().await.unwrap();
    assert_eq!(body(r).await["items"][0]["personal_id"], b_id.as_str());
    // Date of birth in the Vietnamese form.
    let r = c
        .get(format!("{}/api/v1/citizens?name=Nguyễn&birth_date=15/03/1985", app.base))
        .bearer_auth(&tp)
        .send()
        .await
        .unwrap();
    assert_eq!(body(r).await["total"], 1);
}

async fn officers_cannot_create_officers(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let r = app
        .client()
        .post(format!("{}/api/v1/officers", app.base))
        .bearer_auth(&t)
        .json(&json!({"username": "x", "display_name": "x", "role": "admin", "scope": "nation", "password": "aaaaaaaaaaaaaaa"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// Invalid citizens are refused, each broken rule named, and nothing is written.
async fn invalid_citizens_are_refused_with_every_rule(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let url = format!("{}/api/v1/citizens", app.base);
    let count_before = app.store.count_citizens().await.unwrap();

    // Invalid fields: each named with its rule.
    let mut d =
        serde_json::to_value(draft("001085001235", "Lê", "Văn", "Cường", "1985-02-30", "Nữ", COMMUNE_A))
            .unwrap();
    d["permanent_unit"] = json!("00004");
    let r = app.post_json(&t, &url, &json!({"citizen": d, "reason": "khai sinh"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v = body(r).await;
    assert_eq!(v["error"]["code"], "validation_failed");
    let rules: Vec<(String, String)> = v["error"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["field"].as_str().unwrap().into(), x["rule"].as_str().unwrap().into()))
        .collect();
    assert!(rules.contains(&("birth_date".into(), "date.invalid_day".into())), "{rules:?}");
    assert!(rules.contains(&("permanent_unit".into(), "unit.list_missing".into())), "{rules:?}");
    assert!(v["error"]["message_vi"].as_str().unwrap().contains("birth_date"));

    // Invalid personal ID: which rule.
    let d = draft("003085001235", "Lê", "Văn", "Cường", "1985", "Nam", COMMUNE_A);
    let r = c.post(&url).bearer_auth(&t).json(&json!({"citizen": d, "reason": "x"})).send().await.unwrap();
    let v = body(r).await;
    assert_eq!(v["error"]["violations"][0]["rule"], "id.province");

    // Unknown field.
    let mut d =
        serde_json::to_value(draft("001085001235", "Lê", "Văn", "Cường", "1985", "Nam", COMMUNE_A)).unwrap();
    d["favourite_colour"] = json!("red");
    let r = c.post(&url).bearer_auth(&t).json(&json!({"citizen": d, "reason": "x"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v = body(r).await;
    assert_eq!(v["error"]["code"], "invalid_body");
    assert!(v["error"]["message_en"].as_str().unwrap().contains("favourite_colour"), "{v}");

    // Wrong content type, malformed JSON, oversized body.
    let r =
        c.post(&url).bearer_auth(&t).header("content-type", "text/plain").body("{}").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body(r).await["error"]["code"], "unsupported_media_type");
    let r = c
        .post(&url)
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{\"citizen\":")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let big = json!({"citizen": {"other_names": "x".repeat(100_000)}, "reason": "x"});
    let r = c.post(&url).bearer_auth(&t).json(&big).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body(r).await["error"]["code"], "payload_too_large");

    // A missing reason.
    let d = draft("001085001235", "Lê", "Văn", "Cường", "1985", "Nam", COMMUNE_A);
    let r = c.post(&url).bearer_auth(&t).json(&json!({"citizen": d, "reason": " "})).send().await.unwrap();
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "reason.required");

    // Creating outside one's scope.
    let d = draft("001085001236", "Lê", "Văn", "Dũng", "1985", "Nam", COMMUNE_B);
    let r =
        c.post(&url).bearer_auth(&t).json(&json!({"citizen": d, "reason": "đăng ký"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(r).await["error"]["code"], "out_of_scope");

    // A duplicate personal ID.
    let d = draft(app.citizen_a.personal_id.as_str(), "Nguyễn", "Văn", "Ấn", "1985-03-15", "Nam", COMMUNE_A);
    let r =
        c.post(&url).bearer_auth(&t).json(&json!({"citizen": d, "reason": "đăng ký"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "citizen.duplicate_id");

    // Nothing was written by any of the above.
    assert_eq!(app.store.count_citizens().await.unwrap(), count_before);
}

async fn bad_search_parameters_are_refused(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let url = format!("{}/api/v1/citizens", app.base);
    let r = c.get(format!("{url}?limit=1000")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "page.limit");
    let r = c.get(format!("{url}?colour=red")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(body(r).await["error"]["code"], "invalid_query");
}

/// Creates citizen 001201000777 (Phạm Minh Khôi) in commune A, version 1.
async fn create_khoi(app: &TestApp, t: &str) -> dancu_domain::citizen::CitizenDraft {
    let d = draft("001201000777", "Phạm", "Minh", "Khôi", "2001-01-09", "Nam", COMMUNE_A);
    let r = app
        .client()
        .post(format!("{}/api/v1/citizens", app.base))
        .bearer_auth(t)
        .json(&json!({"citizen": d, "reason": "đăng ký thường trú"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(body(r).await["version"], 1);
    d
}

async fn updates_keep_history(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let url = format!("{}/api/v1/citizens", app.base);
    let d = create_khoi(app, &t).await;

    let mut d2 = d.clone();
    d2.other_names = "Khôi Phạm".into();
    let r = c
        .put(format!("{url}/001201000777"))
        .bearer_auth(&t)
        .json(&json!({"citizen": d2, "expected_version": 1, "reason": "bổ sung tên gọi khác"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["version"], 2);

    // A stale version is refused.
    let r = c
        .put(format!("{url}/001201000777"))
        .bearer_auth(&t)
        .json(&json!({"citizen": d2, "expected_version": 1, "reason": "sửa lại"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(body(r).await["error"]["code"], "version_mismatch");

    let r = c.get(format!("{url}/001201000777/history")).bearer_auth(&t).send().await.unwrap();
    let h = body(r).await;
    assert_eq!(h.as_array().unwrap().len(), 1);
    assert_eq!(h[0]["version"], 1);
    assert_eq!(h[0]["reason"], "đăng ký thường trú");
    assert_eq!(h[0]["changed_by"], "officer:xa_a");
    assert_eq!(h[0]["citizen"]["other_names"], "");
}

async fn households_need_one_head_and_keep_history(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    create_khoi(app, &t).await;
    let url = format!("{}/api/v1/households", app.base);
    let a = app.citizen_a.personal_id.to_string();
    let r = c
        .post(&url)
        .bearer_auth(&t)
        .json(&json!({"number": "HKT1", "reason": "lập hộ", "members": [
            {"personal_id": a, "relation": "head"}, {"personal_id": "001201000777", "relation": "head"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "household.head_count");

    // A member outside the scope is refused.
    let r = c
        .post(&url)
        .bearer_auth(&t)
        .json(&json!({"number": "HKT1", "reason": "lập hộ", "members": [
            {"personal_id": a, "relation": "head"}, {"personal_id": app.citizen_b.personal_id.to_string(), "relation": "spouse"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let r = c
        .post(&url)
        .bearer_auth(&t)
        .json(&json!({"number": "HKT1", "reason": "lập hộ", "members": [
            {"personal_id": a, "relation": "head"}, {"personal_id": "001201000777", "relation": "child"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());

    let r = c.get(format!("{url}/HKT1")).bearer_auth(&t).send().await.unwrap();
    let h = body(r).await;
    assert_eq!(h["head"], a.as_str());
    assert_eq!(h["members"].as_array().unwrap().len(), 2);
    let r =
        c.get(format!("{}/api/v1/citizens?household=HKT1", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(body(r).await["total"], 2);
    // Commune B's officer cannot see it.
    let tb = app.token("xa_b").await;
    let r = c.get(format!("{url}/HKT1")).bearer_auth(&tb).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Change of head keeps history.
    let r = c
        .put(format!("{url}/HKT1"))
        .bearer_auth(&t)
        .json(&json!({"number": "HKT1", "reason": "thay đổi chủ hộ", "members": [
            {"personal_id": a, "relation": "parent"}, {"personal_id": "001201000777", "relation": "head"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let r = c.get(format!("{url}/HKT1/history")).bearer_auth(&t).send().await.unwrap();
    let h = body(r).await;
    assert_eq!(h[0]["reason"], "lập hộ");
}

async fn reads_and_denied_reads_are_in_the_access_log(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let a = app.citizen_a.personal_id.to_string();
    let r = c
        .get(format!("{}/api/v1/citizens/{a}?purpose=kiểm%20tra%20hồ%20sơ", app.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r =
        c.get(format!("{}/api/v1/citizens/{a}/access-log", app.base)).bearer_auth(&t).send().await.unwrap();
    let log = body(r).await;
    let items = log["items"].as_array().unwrap();
    assert!(
        items.iter().any(|e| e["actor"] == "officer:xa_a"
            && e["action"] == "citizen.read"
            && e["purpose"] == "kiểm tra hồ sơ"),
        "{log}"
    );
    // The denied read by commune B's officer is recorded too.
    let tb = app.token("xa_b").await;
    c.get(format!("{}/api/v1/citizens/{a}", app.base)).bearer_auth(&tb).send().await.unwrap();
    let admin = app.token("admin").await;
    let r = c
        .get(format!("{}/api/v1/citizens/{a}/access-log", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let log = body(r).await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "officer:xa_b" && e["outcome"] == "denied"),
        "{log}"
    );
    let r = c.get(format!("{}/api/v1/audit/verify", app.base)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(body(r).await["intact"], true);
}

async fn newborn_personal_ids_are_allocated(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let r = app
        .client()
        .post(format!("{}/api/v1/personal-ids", app.base))
        .bearer_auth(&t)
        .json(&json!({"province": "01", "sex": "F", "birth_year": 2026}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = body(r).await["personal_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("001326"), "{id}");
}

/// Personal data is never cached and pages cannot be framed.
async fn personal_data_is_never_cached_or_framed(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let a = app.citizen_a.personal_id.to_string();
    let r =
        app.client().get(format!("{}/api/v1/citizens/{a}", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
}

/// Health, readiness, metrics (without personal IDs), the OpenAPI document, and a JSON 404.
async fn ops_endpoints(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let a = app.citizen_a.personal_id.to_string();
    // A read, so that the metrics have the citizen route.
    let t = app.token("xa_a").await;
    c.get(format!("{}/api/v1/citizens/{a}", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(c.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200);
    assert_eq!(c.get(format!("{}/readyz", app.base)).send().await.unwrap().status(), 200);
    let metrics_token = app.state.config.metrics_token.clone().unwrap();
    let m = c
        .get(format!("{}/metrics", app.base))
        .bearer_auth(metrics_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("dancu_http_requests_total{method=\"GET\",route=\"/api/v1/citizens/{id}\""), "{m}");
    assert!(!m.contains(&a), "metrics must not contain personal IDs");
    let o = body(c.get(format!("{}/openapi.json", app.base)).send().await.unwrap()).await;
    assert!(o["paths"]["/api/v1/citizens/{id}"]["get"].is_object());
    assert!(o["components"]["securitySchemes"]["bearer"].is_object());
    let r = c.get(format!("{}/no/such/page", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(r).await["error"]["code"], "not_found");
}

async fn login_throttle(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let mut last = StatusCode::OK;
    for _ in 0..6 {
        last = c
            .post(format!("{}/api/v1/auth/token", app.base))
            .json(&json!({"username": "tinh01", "password": "guess-guess-guess"}))
            .send()
            .await
            .unwrap()
            .status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // Even the right password is refused while locked.
    let r = c
        .post(format!("{}/api/v1/auth/token", app.base))
        .json(&json!({"username": "tinh01", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body(r).await["error"]["code"], "login_locked");
}

/// Takes a first-issue application for citizen A in at intake, without biometrics yet;
/// returns its id.
async fn intake(app: &TestApp, t: &str) -> i64 {
    let a_id = app.citizen_a.personal_id.to_string();
    let r = app
        .client()
        .post(format!("{}/api/v1/card-applications", app.base))
        .bearer_auth(t)
        .json(&json!({"personal_id": a_id, "kind": "first_issue", "biometrics_captured": false, "reason": "cấp lần đầu"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v = body(r).await;
    assert_eq!(
        (v["stage"].as_str(), v["kind"].as_str(), v["version"].as_i64()),
        (Some("intake"), Some("first_issue"), Some(1))
    );
    v["id"].as_i64().unwrap()
}

/// Moves application `id` (at intake, version 1) through every stage to hand-over.
async fn hand_over(app: &TestApp, t: &str, id: i64) {
    let tr = format!("{}/api/v1/card-applications/{id}/transitions", app.base);
    let steps = [
        json!({"to": "intake", "biometrics_captured": true, "expected_version": 1}),
        json!({"to": "sent_to_production", "expected_version": 2}),
        json!({"to": "card_received", "expected_version": 3}),
        json!({"to": "handed_over", "handover_method": "post", "expected_version": 4}),
    ];
    for step in &steps {
        let r = app.client().post(&tr).bearer_auth(t).json(step).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{step}");
    }
}

/// Refused card requests name their rule and change nothing: an unknown kind, a skipped
/// stage, production without biometrics, a stale version.
async fn card_application_refusals_name_the_rule(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let a_id = app.citizen_a.personal_id.to_string();
    let url = format!("{}/api/v1/card-applications", app.base);
    let id = intake(app, &t).await;
    let tr = format!("{url}/{id}/transitions");

    // Unknown kind: 422 with the rule.
    let r = app.post_json(&t, &url, &json!({"personal_id": a_id, "kind": "gift", "reason": "x"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "card.kind_unknown");

    // A skip: 422 card.stage_skip, nothing changes.
    let r = app.post_json(&t, &tr, &json!({"to": "card_received", "expected_version": 1})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "card.stage_skip");
    // Production needs the biometrics.
    let r = app.post_json(&t, &tr, &json!({"to": "sent_to_production", "expected_version": 1})).await;
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "card.biometrics_missing");
    // A stale version: 409.
    let r = app.post_json(&t, &tr, &json!({"to": "intake", "expected_version": 5})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(body(r).await["error"]["code"], "version_mismatch");
    let v = body(app.client().get(format!("{url}/{id}")).bearer_auth(&t).send().await.unwrap()).await;
    assert_eq!((v["stage"].as_str(), v["version"].as_i64()), (Some("intake"), Some(1)), "nothing changed");
}

/// Every stage to hand-over issues the card with its expiry; hand-over is final.
async fn hand_over_issues_the_card_with_its_expiry(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let a_id = app.citizen_a.personal_id.to_string();
    let url = format!("{}/api/v1/card-applications", app.base);
    let id = intake(app, &t).await;
    let tr = format!("{url}/{id}/transitions");
    hand_over(app, &t, id).await;
    let r = c.get(format!("{url}/{id}")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(r).await;
    assert_eq!(
        (v["stage"].as_str(), v["method"].as_str(), v["version"].as_i64()),
        (Some("handed_over"), Some("post"), Some(5))
    );
    assert_eq!(v["events"].as_array().unwrap().len(), 4);
    assert_eq!(v["events"][3]["to_stage"], "handed_over");

    // The card, with its expiry (born 15/03/1985).
    let r = c.get(format!("{}/api/v1/citizens/{a_id}/cards", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(r).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let card = &v[0];
    assert_eq!((card["number"].as_str(), card["status"].as_str()), (Some(a_id.as_str()), Some("valid")));
    let issued: chrono::NaiveDate = card["issue_date"].as_str().unwrap().parse().unwrap();
    let birth = app.citizen_a.birth_date;
    let expected = dancu_identity::card_expiry(&birth, issued);
    assert_eq!(card["expiry"].as_str().map(str::to_string), expected.map(|d| d.to_string()));
    assert_eq!(issued, dancu_domain::date::vietnam_today(chrono::Utc::now()));

    // Hand-over is final.
    let r = app.post_json(&t, &tr, &json!({"to": "cancelled", "reason": "x", "expected_version": 5})).await;
    assert_eq!(body(r).await["error"]["violations"][0]["rule"], "card.terminal");
}

/// The board counts applications by stage, and the list filters by a known stage.
async fn board_and_list_by_stage(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let url = format!("{}/api/v1/card-applications", app.base);
    let id = intake(app, &t).await;
    hand_over(app, &t, id).await;
    let r = c.get(format!("{url}/board")).bearer_auth(&t).send().await.unwrap();
    let v = body(r).await;
    let handed = v.as_array().unwrap().iter().find(|c| c["stage"] == "handed_over").unwrap();
    assert_eq!(handed["count"], 1);
    let r = c.get(format!("{url}?stage=handed_over&limit=10")).bearer_auth(&t).send().await.unwrap();
    let v = body(r).await;
    assert_eq!((v["total"].as_u64(), v["items"][0]["id"].as_i64()), (Some(1), Some(id)));
    let r = c.get(format!("{url}?stage=nowhere")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn cards_are_hidden_outside_scope_and_audited(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let a_id = app.citizen_a.personal_id.to_string();
    let url = format!("{}/api/v1/card-applications", app.base);
    let id = intake(app, &t).await;
    let tr = format!("{url}/{id}/transitions");
    hand_over(app, &t, id).await;
    // Commune A's officer reads the application and the card.
    let r = c.get(format!("{url}/{id}")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.get(format!("{}/api/v1/citizens/{a_id}/cards", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Commune B's officer sees none of it, and gets 404 like for a missing application.
    let tb = app.token("xa_b").await;
    let r = c.get(format!("{url}/{id}")).bearer_auth(&tb).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let denied = body(r).await;
    let r = c.get(format!("{url}/999999")).bearer_auth(&tb).send().await.unwrap();
    assert_eq!(body(r).await, denied);
    let r = app.post_json(&tb, &tr, &json!({"to": "cancelled", "reason": "x", "expected_version": 5})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c.get(format!("{url}/board")).bearer_auth(&tb).send().await.unwrap();
    assert!(body(r).await.as_array().unwrap().iter().all(|c| c["count"] == 0));
    let r =
        c.get(format!("{}/api/v1/citizens/{a_id}/cards", app.base)).bearer_auth(&tb).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r =
        app.post_json(&tb, &url, &json!({"personal_id": a_id, "kind": "first_issue", "reason": "x"})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The reads and writes are in the citizen's access log.
    let actions: Vec<String> = app
        .store
        .list_audit(&dancu_store::AuditFilter {
            subject: Some(a_id.clone()),
            limit: 200,
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    for a in ["card.application.create", "card.application.transition", "card.application.read", "card.read"]
    {
        assert!(actions.iter().any(|x| x == a), "{a} missing in {actions:?}");
    }
}

/// The due-for-renewal list: citizen A's card (born 15/03/1985, expiring at 60) is listed
/// once its 30-day window opens within the look-ahead, in commune A only.
async fn cards_due_for_renewal(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let a_id = app.citizen_a.personal_id.as_str();
    let id = intake(app, &t).await;
    hand_over(app, &t, id).await;
    let issued = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let expiry = dancu_identity::card_expiry(&app.citizen_a.birth_date, issued).unwrap();
    let url = format!("{}/api/v1/cards/due-for-renewal", app.base);
    let due = expiry - chrono::Duration::days(30);
    let on = due - chrono::Duration::days(10);
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["personal_id"].as_str().unwrap().to_string())
            .collect()
    };
    let r = c.get(format!("{url}?on={on}&within_days=10")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(r).await;
    assert_eq!(ids(&v), vec![a_id.to_string()]);
    assert_eq!(v["total"], 1);
    let d = &v["items"][0];
    assert_eq!(
        (d["expiry"].as_str(), d["birth_date"].as_str()),
        (Some(expiry.to_string().as_str()), Some("1985-03-15"))
    );
    assert_eq!(d["renewal_due_from"].as_str(), Some(due.to_string().as_str()));
    assert_eq!(d["scope_commune"].as_str(), Some(COMMUNE_A));
    // One day short of the window, and after expiry: not listed. Today: not listed.
    let r = c.get(format!("{url}?on={on}&within_days=9")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(body(r).await["total"], 0);
    let after = expiry + chrono::Duration::days(1);
    let r = c.get(format!("{url}?on={after}&within_days=0")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(body(r).await["total"], 0);
    let r = c.get(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!((r.status(), body(r).await["total"].as_u64()), (StatusCode::OK, Some(0)));
    // Commune B's officer does not see it.
    let tb = app.token("xa_b").await;
    let r = c.get(format!("{url}?on={on}&within_days=10")).bearer_auth(&tb).send().await.unwrap();
    assert_eq!(body(r).await["total"], 0);
    // Bad input: 422 with the rule.
    for (q, rule) in [
        ("within_days=3651", "card.due_within_days"),
        ("on=2045-02-30", "date.invalid"),
        ("limit=0", "page.limit"),
    ] {
        let r = c.get(format!("{url}?{q}")).bearer_auth(&t).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        assert_eq!(body(r).await["error"]["violations"][0]["rule"], rule, "{q}");
    }
    let r = c.get(format!("{url}?within_days=-1")).bearer_auth(&t).send().await.unwrap();
    assert!(r.status().is_client_error());
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Audited, with the query as subject.
    let subject = format!("commune:{COMMUNE_A}&on={on}&within_days=10");
    let entries = app
        .store
        .list_audit(&dancu_store::AuditFilter { subject: Some(subject), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert!(entries
        .items
        .iter()
        .any(|e| e.entry.action == "card.due_list" && e.entry.actor == "officer:xa_a"));
}
