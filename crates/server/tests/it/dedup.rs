//! The duplicate worklist over HTTP on SQLite and PostgreSQL: scope, merge, counts, the
//! merged record's banner, undo for administrators only, reject.

use crate::common::*;
use dancu_store::dedup::{self, Evidence, NewCandidate};
use reqwest::StatusCode;

on_both_backends!(
    the_worklist_is_scoped_and_masks_the_side_outside_scope,
    deciding_needs_both_records_in_scope_and_a_reason,
    a_merge_is_counted_and_shown_on_the_merged_record,
    only_an_administrator_undoes_a_merge,
    decisions_through_the_json_api,
);

async fn page(app: &TestApp, user: &str, path: &str) -> (StatusCode, String) {
    let t = app.token(user).await;
    let r = app.client().get(format!("{}{path}", app.base)).bearer_auth(&t).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn post(app: &TestApp, user: &str, path: &str, form: &[(&str, &str)]) -> StatusCode {
    let t = app.token(user).await;
    app.client().post(format!("{}{path}", app.base)).bearer_auth(&t).form(form).send().await.unwrap().status()
}

/// `GET /api/v1/dedup/candidates` as JSON.
async fn candidates(app: &TestApp, token: &str) -> serde_json::Value {
    let r = app.client().get(format!("{}/api/v1/dedup/candidates", app.base)).bearer_auth(token).send().await;
    r.unwrap().json().await.unwrap()
}

fn total(html: &str, which: &str) -> String {
    let key = format!("data-testid=\"total-{which}\">");
    let at = html.find(&key).unwrap_or_else(|| panic!("{which} in {html}")) + key.len();
    html[at..].split('<').next().unwrap().to_string()
}

/// The planted pairs: a strong one inside commune A, and a cross one (commune A, commune B).
pub(crate) struct Planted {
    pub(crate) dup: dancu_domain::Citizen,
    pub(crate) other: dancu_domain::Citizen,
    pub(crate) strong: i64,
    pub(crate) cross: i64,
}

pub(crate) async fn plant(app: &TestApp) -> Planted {
    // A second registration of citizen A (one digit of the ID wrong), in commune A.
    let dup = draft("001085001243", "Nguyen", "Van", "An", "15/03/1985", "Nam", COMMUNE_A)
        .validate(chrono::Utc::now().date_naive())
        .unwrap();
    let ch =
        dancu_store::Change { actor: "test".into(), reason: "test".into(), at: dancu_store::registry::now() };
    app.store.create_citizen(&dup, &ch).await.unwrap();
    let other = draft("001190004999", "Trần", "Thị", "Bình", "1990-07-02", "Nữ", COMMUNE_A)
        .validate(chrono::Utc::now().date_naive())
        .unwrap();
    app.store.create_citizen(&other, &ch).await.unwrap();
    let ev = vec![Evidence { field: "birth_date".into(), level: "exact".into(), weight: 14.7 }];
    let pairs = [
        NewCandidate {
            left: app.citizen_a.personal_id,
            right: dup.personal_id,
            weight: 60.0,
            probability: 1.0,
            evidence: ev.clone(),
        },
        NewCandidate {
            left: other.personal_id,
            right: app.citizen_b.personal_id,
            weight: 20.0,
            probability: 0.99,
            evidence: ev,
        },
    ];
    assert_eq!(
        dedup::add_candidates(app.store.as_ref(), &pairs, dancu_store::registry::now()).await.unwrap(),
        2
    );
    let list = dedup::list(app.store.as_ref(), &dancu_store::Scope::Nation, None, 10, 0).await.unwrap();
    let (strong, cross) = (list.items[0].id, list.items[1].id);
    Planted { dup, other, strong, cross }
}

/// The cross pair rejected by the province officer.
async fn reject_cross(app: &TestApp, cross: i64) {
    assert_eq!(
        post(
            app,
            "tinh01",
            &format!("/dedup/{cross}/reject"),
            &[("csrf", ""), ("reason", "hai người khác nhau")]
        )
        .await,
        StatusCode::SEE_OTHER
    );
}

/// The strong pair merged by commune A's officer, keeping A's record.
async fn merge_strong(app: &TestApp, strong: i64) {
    let keep = app.citizen_a.personal_id.to_string();
    assert_eq!(
        post(app, "xa_a", &format!("/dedup/{strong}/merge"), &[("csrf", ""), ("keep", &keep)]).await,
        StatusCode::SEE_OTHER
    );
}

async fn the_worklist_is_scoped_and_masks_the_side_outside_scope(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let Planted { other, .. } = plant(app).await;
    // Commune A sees both pairs (each has a record in A); commune B only the cross pair.
    let (st, html) = page(app, "xa_a", "/dedup").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!((total(&html, "found"), total(&html, "remaining")), ("2".into(), "2".into()));
    assert!(html.contains("Nguyen Van An") && html.contains("Ngày sinh"), "evidence shown in words");
    let (_, html_b) = page(app, "xa_b", "/dedup").await;
    assert!(!html_b.contains("Nguyen Van An"));
    // The record of the cross pair that lies in commune A is masked for commune B: no ID,
    // no name, no evidence, no decision buttons.
    assert!(html_b.contains("masked-side"), "{html_b}");
    assert!(!html_b.contains(other.personal_id.as_str()) && !html_b.contains("data-testid=\"evidence\""));
    assert!(!html_b.contains("data-testid=\"merge\""));
    let v = candidates(app, &app.token("xa_b").await).await;
    let shown = &v["items"][0];
    assert_eq!(v["total"], 1);
    // Stored in ID order: the pair is (citizen B, the other), whichever side that is.
    let (seen_side, masked) = if shown["left"].is_null() {
        (&shown["right"], &shown["left"])
    } else {
        (&shown["left"], &shown["right"])
    };
    assert!(masked.is_null(), "{v}");
    assert_eq!(seen_side["personal_id"], app.citizen_b.personal_id.as_str(), "{v}");
    assert_eq!(
        (shown["evidence"].as_array().map(Vec::len), shown["decidable"].as_bool()),
        (Some(0), Some(false))
    );
    // The masked record's access log shows no read by commune B.
    let log = dancu_store::AuditFilter {
        subject: Some(other.personal_id.to_string()),
        actor: Some("officer:xa_b".into()),
        limit: 50,
        ..Default::default()
    };
    let seen = app.store.list_audit(&log).await.unwrap();
    assert!(seen.items.iter().all(|e| e.entry.outcome != "ok"), "{:?}", seen.items);
}

async fn deciding_needs_both_records_in_scope_and_a_reason(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let Planted { strong, cross, .. } = plant(app).await;
    // Deciding needs both records in scope.
    assert_eq!(
        post(app, "xa_b", &format!("/dedup/{strong}/reject"), &[("csrf", ""), ("reason", "x")]).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(app, "xa_a", &format!("/dedup/{cross}/reject"), &[("csrf", ""), ("reason", "x")]).await,
        StatusCode::NOT_FOUND
    );
    // A reason is required to reject.
    assert_eq!(
        post(app, "tinh01", &format!("/dedup/{cross}/reject"), &[("csrf", "")]).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    reject_cross(app, cross).await;
}

async fn a_merge_is_counted_and_shown_on_the_merged_record(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let Planted { dup, strong, cross, .. } = plant(app).await;
    reject_cross(app, cross).await;
    // Merge, keeping A's record.
    let keep = app.citizen_a.personal_id.to_string();
    merge_strong(app, strong).await;
    let (_, html) = page(app, "tinh01", "/dedup").await;
    assert_eq!((total(&html, "merged"), total(&html, "remaining")), ("1".into(), "0".into()));
    // Counts for a period: nothing found or merged from tomorrow on; the quality page links here.
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Duration::days(2);
    let (_, later) = page(app, "tinh01", &format!("/dedup?since={tomorrow}")).await;
    assert_eq!((total(&later, "found"), total(&later, "merged")), ("0".into(), "0".into()));
    assert_eq!(page(app, "tinh01", "/dedup?since=2026-31-12").await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, quality) = page(app, "tinh01", "/quality").await;
    assert!(quality.contains("quality-dedup-link"), "{quality}");
    let (_, merged) = page(app, "xa_a", &format!("/citizens/{}", dup.personal_id)).await;
    assert!(merged.contains("data-testid=\"merged-into\"") && merged.contains(&keep));
}

async fn only_an_administrator_undoes_a_merge(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let Planted { dup, strong, cross, .. } = plant(app).await;
    reject_cross(app, cross).await;
    merge_strong(app, strong).await;
    assert_eq!(
        post(app, "xa_a", &format!("/dedup/{strong}/undo"), &[("csrf", "")]).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(app, "admin", &format!("/dedup/{strong}/undo"), &[("csrf", "")]).await,
        StatusCode::SEE_OTHER
    );
    let (_, html) = page(app, "tinh01", "/dedup").await;
    assert_eq!((total(&html, "merged"), total(&html, "remaining")), ("0".into(), "1".into()));
    let (_, back) = page(app, "xa_a", &format!("/citizens/{}", dup.personal_id)).await;
    assert!(!back.contains("data-testid=\"merged-into\""));
}

/// Merge, a second merge and undo through the JSON API (after a merge undone on the pages).
async fn decisions_through_the_json_api(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let Planted { strong, cross, .. } = plant(app).await;
    reject_cross(app, cross).await;
    merge_strong(app, strong).await;
    assert_eq!(
        post(app, "admin", &format!("/dedup/{strong}/undo"), &[("csrf", "")]).await,
        StatusCode::SEE_OTHER
    );
    let keep = app.citizen_a.personal_id.to_string();
    let t = app.token("tinh01").await;
    let c = app.client();
    let v = candidates(app, &t).await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["evidence"][0]["field"], "birth_date");
    let url = format!("{}/api/v1/dedup/candidates/{strong}/decision", app.base);
    let r =
        c.post(&url).bearer_auth(&t).json(&serde_json::json!({"decision": "split"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.post_json(&t, &url, &serde_json::json!({"decision": "merge", "keep": keep})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (v["pair"]["status"].as_str(), v["merge"]["kept"].as_str()),
        (Some("merged"), Some(keep.as_str()))
    );
    let r = app.post_json(&t, &url, &serde_json::json!({"decision": "merge", "keep": keep})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let counts: serde_json::Value = c
        .get(format!("{}/api/v1/dedup/counts", app.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let merged: u64 = counts.as_array().unwrap().iter().map(|x| x["merged"].as_u64().unwrap()).sum();
    assert_eq!(merged, 1);
    let r = c.post(&url).bearer_auth(&t).json(&serde_json::json!({"decision": "undo"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
