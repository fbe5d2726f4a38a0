//! Residence confirmations over HTTP (issue 14 part 5): issued by an officer, verified
//! without logging in, revoked, then refused; an expired one (issued in the past through the
//! raw store) refused; forged, altered, unknown-key and garbage tokens each refused with
//! their own rule and changing nothing; an officer out of scope answered like "not found"; a
//! citizen issuing their own on the portal (HTML and PDF); the per-address throttle.

use crate::applications::csrf_of;
use crate::common::*;
use base64::Engine;
use dancu_server::confirm::{claims_of, ConfirmKeys, VerifyLimit, VerifyResult};
use dancu_store::confirmations::{self, ConfirmationContent, NewConfirmation};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    issued_verified_revoked_then_refused,
    an_expired_confirmation_fails,
    tampered_tokens_are_refused_each_with_its_rule_and_change_nothing,
    an_officer_out_of_scope_is_answered_like_not_found,
    a_citizen_issues_their_own_on_the_portal,
    verification_is_throttled_per_address
);

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn rule(v: &Value) -> String {
    v["error"]["violations"][0]["rule"].as_str().unwrap_or_default().to_string()
}

async fn issue(app: &TestApp, t: &str, pid: &str) -> (StatusCode, Value) {
    let r = app.api_post(t, &format!("/api/v1/citizens/{pid}/confirmations")).await;
    (r.status(), body(r).await)
}

/// A public check (no credentials).
async fn verify(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let r = app
        .client()
        .get(format!("{}/api/v1/confirmations/verify", app.base))
        .query(&[("token", token)])
        .send()
        .await
        .unwrap();
    (r.status(), body(r).await)
}

async fn revoke(app: &TestApp, t: &str, id: i64, reason: &str) -> (StatusCode, Value) {
    let url = format!("{}/api/v1/confirmations/{id}/revoke", app.base);
    let r = app.post_json(t, url, &json!({"reason": reason})).await;
    (r.status(), body(r).await)
}

fn today() -> chrono::NaiveDate {
    dancu_domain::date::vietnam_today(chrono::Utc::now())
}

async fn issued_verified_revoked_then_refused(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    let (status, c) = issue(app, &t, &pid).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["content"]["full_name"], "Nguyễn Văn Ấn");
    assert_eq!(c["content"]["birth_date"], "15/03/1985");
    assert!(c["content"]["permanent"].as_str().unwrap().contains("Phường Ba Đình"), "{c}");
    assert_eq!(c["issuing_unit"], "commune:00004");
    let until = confirmations::valid_until(today());
    assert_eq!(c["valid_until"], until.to_string());
    let token = c["token"].as_str().unwrap().to_string();
    let link = c["verify_url"].as_str().unwrap();
    assert_eq!(link, format!("{}/verify?t={token}", app.base));

    // Anyone: valid, with only the dates and the name.
    let (status, v) = verify(app, &token).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"status": "valid", "holder_name": "Nguyễn Văn Ấn", "issued_on": today().to_string(),
            "valid_until": until.to_string()})
    );
    assert_eq!(app.state.verify.counted(VerifyResult::Valid), 1);

    // The check is in the holder's access log, by the public verifier.
    let log = body(app.api_get(&t, &format!("/api/v1/citizens/{pid}/access-log")).await).await;
    let verified = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "confirmation.verify" && e["actor"] == "public:verify");
    assert!(verified, "{log}");

    // A revocation needs a reason, then holds, once.
    let id = c["id"].as_i64().unwrap();
    let (status, e) = revoke(app, &t, id, "  ").await;
    assert_eq!((status, rule(&e).as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "reason.required"));
    let (status, r) = revoke(app, &t, id, "công dân đã chuyển đi nơi khác").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["revoked_by"], "officer:xa_a");
    let (status, v) = verify(app, &token).await;
    assert_eq!((status, v["status"].as_str()), (StatusCode::OK, Some("revoked")));
    let (status, e) = revoke(app, &t, id, "lần hai").await;
    assert_eq!((status, rule(&e).as_str()), (StatusCode::CONFLICT, "confirmation.already_revoked"));

    // Listed on the citizen, newest first, with its revocation.
    let list = body(app.api_get(&t, &format!("/api/v1/citizens/{pid}/confirmations")).await).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["revoked_reason"], "công dân đã chuyển đi nơi khác");
    let metrics = app.state.verify.render();
    assert!(metrics.contains("dancu_confirmation_verifications_total{result=\"revoked\"} 1"), "{metrics}");
}

fn content(name: &str) -> ConfirmationContent {
    ConfirmationContent {
        full_name: name.into(),
        birth_date: "15/03/1985".into(),
        sex: dancu_domain::Sex::Male,
        permanent: "Số 5 ngõ 12, Phường Ba Đình, Thành phố Hà Nội".into(),
        temporary: String::new(),
        household_no: String::new(),
        head_name: String::new(),
        relation: None,
    }
}

/// A confirmation stored directly, issued `days_ago` days ago, and its token.
async fn issued_in_the_past(app: &TestApp, days_ago: i64) -> (i64, String) {
    let n = NewConfirmation {
        personal_id: app.citizen_a.personal_id,
        content: content("Nguyễn Văn Ấn"),
        issuing_unit: "commune:00004".into(),
        channel: "officer".into(),
        issued_at: dancu_store::registry::now() - chrono::Duration::days(days_ago),
        issued_by: "officer:xa_a".into(),
        key_id: app.state.config.confirm_keys.current_kid().into(),
        scope_province: "01".into(),
        scope_commune: COMMUNE_A.into(),
    };
    let c = confirmations::insert(app.store.as_ref(), &n).await.unwrap();
    (c.id, app.state.config.confirm_keys.sign(&claims_of(&c)).unwrap())
}

async fn an_expired_confirmation_fails(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    // A year and a day ago: its last valid day was yesterday.
    let (_, old) = issued_in_the_past(app, 367).await;
    let (status, v) = verify(app, &old).await;
    assert_eq!((status, v["status"].as_str()), (StatusCode::OK, Some("expired")), "{v}");
    assert!(v["valid_until"].as_str().unwrap() < today().to_string().as_str());
    // 300 days ago: still valid.
    let (_, recent) = issued_in_the_past(app, 300).await;
    let (status, v) = verify(app, &recent).await;
    assert_eq!((status, v["status"].as_str()), (StatusCode::OK, Some("valid")), "{v}");
    assert_eq!(app.state.verify.counted(VerifyResult::Expired), 1);
}

async fn count_rows(app: &TestApp) -> usize {
    let t = app.token("admin").await;
    let pid = app.citizen_a.personal_id.to_string();
    body(app.api_get(&t, &format!("/api/v1/citizens/{pid}/confirmations")).await)
        .await
        .as_array()
        .unwrap()
        .len()
}

async fn tampered_tokens_are_refused_each_with_its_rule_and_change_nothing(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    let (_, c) = issue(app, &t, &pid).await;
    let token = c["token"].as_str().unwrap().to_string();
    let (head, sig) = token.rsplit_once('.').unwrap();
    let payload: Value =
        serde_json::from_slice(&B64.decode(head.strip_prefix("v1.").unwrap()).unwrap()).unwrap();
    let before = count_rows(app).await;

    // The payload altered (another name, a later date), the signature kept.
    let mut altered = payload.clone();
    altered["n"] = json!("Trần Văn Giả");
    let altered_name = format!("v1.{}.{sig}", B64.encode(altered.to_string()));
    let mut later = payload.clone();
    later["u"] = json!("2099-12-31");
    let altered_date = format!("v1.{}.{sig}", B64.encode(later.to_string()));
    // Forged: a key of the forger's own under this server's key id.
    let kid = payload["k"].as_str().unwrap();
    let der = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let forger = ConfirmKeys::parse(&format!("{kid} {}", B64.encode(der.as_ref()))).unwrap();
    let mut claims: dancu_server::confirm::Claims = serde_json::from_value(payload.clone()).unwrap();
    let forged = forger.sign(&claims).unwrap();
    // A key id this server never had, properly signed by its owner.
    claims.kid = "ed25519-20990101000000-0000beef".into();
    let der = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let stranger = ConfirmKeys::parse(&format!("{} {}", claims.kid, B64.encode(der.as_ref()))).unwrap();
    let unknown_key = stranger.sign(&claims).unwrap();

    let cases: Vec<(&str, String, &str)> = vec![
        ("altered name", altered_name, "confirmation.bad_signature"),
        ("altered date", altered_date, "confirmation.bad_signature"),
        ("forged", forged, "confirmation.bad_signature"),
        ("unknown key", unknown_key, "confirmation.unknown_key"),
        ("garbage", "xin chào".into(), "confirmation.malformed"),
        ("truncated", token[..token.len() - 10].to_string(), "confirmation.malformed"),
        ("another version", token.replacen("v1.", "v2.", 1), "confirmation.malformed"),
        ("payload not JSON", format!("v1.{}.{sig}", B64.encode("not json")), "confirmation.malformed"),
    ];
    for (what, bad, expected) in cases {
        let (status, e) = verify(app, &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {e}");
        assert_eq!(rule(&e), expected, "{what}: {e}");
    }
    assert_eq!(app.state.verify.counted(VerifyResult::BadSignature), 3);
    assert_eq!(app.state.verify.counted(VerifyResult::UnknownKey), 1);
    assert_eq!(app.state.verify.counted(VerifyResult::Malformed), 4);

    // Signed by this server for an id that does not exist: not found.
    let mut missing = serde_json::from_value::<dancu_server::confirm::Claims>(payload.clone()).unwrap();
    missing.id += 1;
    let (status, _) = verify(app, &app.state.config.confirm_keys.sign(&missing).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An empty or missing token is a bad request.
    let r = app.client().get(format!("{}/api/v1/confirmations/verify", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Nothing changed: the real one is still valid, nothing was added.
    assert_eq!(verify(app, &token).await.1["status"], "valid");
    assert_eq!(count_rows(app).await, before);
}

async fn an_officer_out_of_scope_is_answered_like_not_found(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let ta = app.token("xa_a").await;
    let tb = app.token("xa_b").await;
    let pid = app.citizen_a.personal_id.to_string();
    let (status, e) = issue(app, &tb, &pid).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
    let (_, c) = issue(app, &ta, &pid).await;
    let id = c["id"].as_i64().unwrap();
    assert_eq!(
        app.api_get(&tb, &format!("/api/v1/confirmations/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.api_get(&tb, &format!("/api/v1/citizens/{pid}/confirmations")).await.status(),
        StatusCode::NOT_FOUND
    );
    let (status, _) = revoke(app, &tb, id, "không có thẩm quyền").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(verify(app, c["token"].as_str().unwrap()).await.1["status"], "valid");
    // The province officer covers the commune.
    let tp = app.token("tinh01").await;
    assert_eq!(app.api_get(&tp, &format!("/api/v1/confirmations/{id}")).await.status(), StatusCode::OK);
}

async fn a_citizen_issues_their_own_on_the_portal(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let mut jar = Jar::default();
    crate::pages::citizen(app, &t, &mut jar).await;
    let page = get(app, &mut jar, "/portal/confirmations").await.text().await.unwrap();
    assert!(page.contains("Chưa có giấy xác nhận"), "{page}");
    let csrf = csrf_of(&page);
    assert_eq!(
        post_form(app, &mut jar, "/portal/confirmations", &[("csrf", "wrong")]).await.status(),
        StatusCode::FORBIDDEN
    );
    let r = post_form(app, &mut jar, "/portal/confirmations", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let doc_path = r.headers()["location"].to_str().unwrap().to_string();
    let doc = get(app, &mut jar, &doc_path).await.text().await.unwrap();
    for text in
        ["GIẤY XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ", "CÔNG AN PHƯỜNG BA ĐÌNH", "Nguyễn Văn Ấn", "Còn hiệu lực"]
    {
        assert!(doc.contains(text), "{text} not in the document");
    }
    assert!(!doc.contains("style="));
    let pdf = get(app, &mut jar, &format!("{doc_path}/pdf")).await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-") && bytes.len() > 5_000, "{} bytes", bytes.len());
    assert!(String::from_utf8_lossy(&bytes[bytes.len() - 10..]).contains("%%EOF"));

    // Issued in the name of the commune's police, listed on the portal and for the officer.
    let list =
        body(app.api_get(&t, &format!("/api/v1/citizens/{}/confirmations", app.citizen_a.personal_id)).await)
            .await;
    assert_eq!(
        (list[0]["channel"].as_str(), list[0]["issuing_unit"].as_str()),
        (Some("portal"), Some("commune:00004"))
    );
    let id = list[0]["id"].as_i64().unwrap();
    let mine = get(app, &mut jar, "/portal/confirmations").await.text().await.unwrap();
    assert!(mine.contains(&format!("/portal/confirmations/{id}")));
    // Another citizen's confirmation answers like a missing one.
    let tb = app.token("xa_b").await;
    let (_, other) = issue(app, &tb, &app.citizen_b.personal_id.to_string()).await;
    let r = get(app, &mut jar, &format!("/portal/confirmations/{}", other["id"])).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn verification_is_throttled_per_address(backend: &'static str) {
    let config = dancu_server::ServerConfig {
        cookie_secure: true,
        verify_limit: VerifyLimit { per_address: 3, window: std::time::Duration::from_secs(600) },
        ..Default::default()
    };
    let app = &TestApp::start_with(backend, config).await;
    for _ in 0..3 {
        assert_eq!(verify(app, "rác").await.0, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = app
        .client()
        .get(format!("{}/api/v1/confirmations/verify", app.base))
        .query(&[("token", "rác")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(body(r).await["error"]["code"], "too_many_verifications");
    // The public page is throttled alike.
    let page = app.client().get(format!("{}/verify?t=abc", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.state.verify.counted(VerifyResult::Throttled), 2);
}
