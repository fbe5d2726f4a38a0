//! The card rules of the 2023 Identification Law over HTTP (docs/IDENTITY.md §2): a child
//! under 6 gives no biometrics and gets a card expiring at 14; the application kind is
//! checked against the holder's cards.

use crate::common::*;
use chrono::Datelike;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    a_child_under_six_gets_a_card_to_14_without_biometrics,
    the_application_kind_is_checked_against_the_holders_cards
);

/// Takes a first issue (biometrics captured) for `personal_id` and moves it to hand-over.
pub(crate) async fn issue_card(app: &TestApp, t: &str, personal_id: &str) {
    let url = format!("{}/api/v1/card-applications", app.base);
    let first = json!({"personal_id": personal_id, "kind": "first_issue", "biometrics_captured": true, "reason": "x"});
    let r = app.post_json(t, &url, &first).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let tr = format!("{url}/{}/transitions", body(r).await["id"].as_i64().unwrap());
    for step in [
        json!({"to": "sent_to_production", "expected_version": 1}),
        json!({"to": "card_received", "expected_version": 2}),
        json!({"to": "handed_over", "handover_method": "post", "expected_version": 3}),
    ] {
        assert_eq!(app.post_json(t, &tr, &step).await.status(), StatusCode::OK);
    }
}

fn rule_of(v: &Value) -> (Option<&str>, Option<&str>) {
    let first = &v["error"]["violations"][0];
    (first["field"].as_str(), first["rule"].as_str())
}

/// A boy born three years ago in Hà Nội, in commune A.
async fn child(app: &TestApp) -> (String, chrono::NaiveDate) {
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let birth = chrono::NaiveDate::from_ymd_opt(today.year() - 3, 1, 15).unwrap();
    let id = format!("0012{:02}000777", birth.year() % 100);
    let c = draft(&id, "Lê", "Minh", "Khang", &birth.format("%d/%m/%Y").to_string(), "Nam", COMMUNE_A)
        .validate(today)
        .unwrap();
    let change = dancu_store::Change {
        actor: "test:setup".into(),
        reason: "trẻ em".into(),
        at: dancu_store::registry::now(),
    };
    app.store.create_citizen(&c, &change).await.unwrap();
    (id, birth)
}

async fn a_child_under_six_gets_a_card_to_14_without_biometrics(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let (id, birth) = child(app).await;
    let url = format!("{}/api/v1/card-applications", app.base);
    // A capture claimed for a child under 6 is refused.
    let claim = json!({"personal_id": id, "kind": "first_issue", "biometrics_captured": true, "reason": "cấp cho trẻ"});
    let r = app.post_json(&t, &url, &claim).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rule_of(&body(r).await), (Some("biometrics_captured"), Some("card.biometrics_under_6")));
    // Without one, the file goes to production.
    let r = app
        .post_json(
            &t,
            &url,
            &json!({"personal_id": id, "kind": "first_issue", "biometrics_captured": false, "reason": "x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let app_id = body(r).await["id"].as_i64().unwrap();
    let tr = format!("{url}/{app_id}/transitions");
    let r = app
        .post_json(&t, &tr, &json!({"to": "intake", "biometrics_captured": true, "expected_version": 1}))
        .await;
    assert_eq!(rule_of(&body(r).await).1, Some("card.biometrics_under_6"));
    for (v, step) in [
        json!({"to": "sent_to_production", "expected_version": 1}),
        json!({"to": "card_received", "expected_version": 2}),
        json!({"to": "handed_over", "handover_method": "in_person", "expected_version": 3}),
    ]
    .iter()
    .enumerate()
    {
        let r = app.post_json(&t, &tr, step).await;
        assert_eq!(r.status(), StatusCode::OK, "step {v}: {step}");
    }
    // The card expires on the 14th birthday and names the 2023 authority.
    let r = app
        .client()
        .get(format!("{}/api/v1/citizens/{id}/cards", app.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let cards = body(r).await;
    let fourteen = chrono::NaiveDate::from_ymd_opt(birth.year() + 14, 1, 15).unwrap();
    assert_eq!(cards[0]["expiry"].as_str(), Some(fourteen.to_string().as_str()));
    assert_eq!(cards[0]["issuing_authority"].as_str(), Some(dancu_identity::CARD_AUTHORITY_2023));
}

async fn the_application_kind_is_checked_against_the_holders_cards(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let a_id = app.citizen_a.personal_id.to_string();
    let url = format!("{}/api/v1/card-applications", app.base);
    // A re-issue for someone who never had a card.
    let lost = json!({"personal_id": a_id, "kind": "replacement.lost", "biometrics_captured": true, "reason": "mất"});
    let r = app.post_json(&t, &url, &lost).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rule_of(&body(r).await), (Some("kind"), Some("card.kind_no_card")));
    // A first issue, handed over; then a second first issue is refused, a re-issue is taken.
    let first =
        json!({"personal_id": a_id, "kind": "first_issue", "biometrics_captured": true, "reason": "x"});
    issue_card(app, &t, &a_id).await;
    let r = app.post_json(&t, &url, &first).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rule_of(&body(r).await), (Some("kind"), Some("card.kind_has_card")));
    // Born 1985, card valid to 60: an age change is not due yet.
    let age = json!({"personal_id": a_id, "kind": "renewal.age_milestone", "biometrics_captured": true, "reason": "x"});
    assert_eq!(rule_of(&body(app.post_json(&t, &url, &age).await).await).1, Some("card.kind_not_due"));
    assert_eq!(app.post_json(&t, &url, &lost).await.status(), StatusCode::CREATED);
}
