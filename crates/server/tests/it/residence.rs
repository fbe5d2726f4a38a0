//! Residence as records and procedures (issue 14 parts 3–4), over HTTP on both backends: a
//! temporary registration done at the destination keeps the person in the home commune's
//! scope and brings them into the destination's; a head cannot leave a household without a
//! head; joining a household waits for the head's consent and takes the household's address;
//! a stay notification is in effect at once and the stay commune sees its guests; requests
//! that break a rule are refused naming the field and change nothing.

use crate::common::*;
use dancu_domain::household::{Household, Member};
use dancu_domain::Relation;
use dancu_store::Change;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    a_temporary_registration_keeps_the_home_commune_and_adds_the_destination,
    a_head_cannot_leave_a_household_without_a_head,
    joining_a_household_waits_for_the_heads_consent,
    a_stay_is_in_effect_at_once_and_the_stay_commune_sees_it,
    bad_requests_name_the_field_and_change_nothing,
    existing_addresses_are_residence_records,
    a_stay_is_in_the_change_feed
);

fn rule(v: &Value) -> String {
    v["error"]["violations"][0]["rule"].as_str().unwrap_or_default().to_string()
}

fn field(v: &Value) -> String {
    v["error"]["violations"][0]["field"].as_str().unwrap_or_default().to_string()
}

fn today() -> chrono::NaiveDate {
    dancu_domain::date::vietnam_today(chrono::Utc::now())
}

async fn submit(
    app: &TestApp,
    t: &str,
    pid: &str,
    service: &str,
    key: &str,
    payload: Value,
) -> (StatusCode, Value) {
    let b = json!({"personal_id": pid, "service_code": service, "idempotency_key": key, "payload": payload});
    let r = app.post_json(t, format!("{}/api/v1/applications", app.base), &b).await;
    (r.status(), body(r).await)
}

/// Accepts, processes and completes; the last answer.
async fn decide(app: &TestApp, t: &str, id: i64) -> (StatusCode, Value) {
    let mut last = (StatusCode::OK, Value::Null);
    for (v, to) in [(1, "accepted"), (2, "in_process"), (3, "completed")] {
        let b = json!({"to": to, "reason": "", "expected_version": v});
        let r = app.post_json(t, format!("{}/api/v1/applications/{id}/transitions", app.base), &b).await;
        last = (r.status(), body(r).await);
        if last.0 != StatusCode::OK {
            return last;
        }
    }
    last
}

async fn citizen(app: &TestApp, t: &str, pid: &str) -> (StatusCode, Value) {
    let r = app.api_get(t, &format!("/api/v1/citizens/{pid}")).await;
    (r.status(), body(r).await)
}

async fn records(app: &TestApp, t: &str, pid: &str) -> Vec<Value> {
    let r = app.api_get(t, &format!("/api/v1/citizens/{pid}/residences")).await;
    assert_eq!(r.status(), StatusCode::OK);
    body(r).await.as_array().unwrap().clone()
}

fn current<'a>(recs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["kind"] == kind && r["current"] == true).collect()
}

fn temporary_in_b() -> Value {
    json!({"procedure": "temporary", "unit": format!("2025:{COMMUNE_B}"), "detail": "Phòng 3, số 10 phố Huế",
           "from": today().to_string(), "until": (today() + chrono::Duration::days(365)).to_string()})
}

async fn a_temporary_registration_keeps_the_home_commune_and_adds_the_destination(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (ta, tb) = (app.token("xa_a").await, app.token("xa_b").await);
    let pid = app.citizen_a.personal_id.to_string();
    // Before: the destination does not see the person.
    assert_eq!(citizen(app, &tb, &pid).await.0, StatusCode::NOT_FOUND);
    // The destination's officer takes the arrival's registration at the desk: the
    // application is the destination's, in its queue.
    let (st, a) = submit(app, &tb, &pid, "residence_temporary", "t1", temporary_in_b()).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["unit"], COMMUNE_B);
    let id = a["id"].as_i64().unwrap();
    let queue = body(app.api_get(&tb, "/api/v1/applications").await).await;
    assert_eq!(queue["total"], 1);
    assert_eq!(body(app.api_get(&ta, "/api/v1/applications").await).await["total"], 0);
    let (st, done) = decide(app, &tb, id).await;
    assert_eq!(st, StatusCode::OK, "{done}");

    // Both communes see the person now; the record carries both residences.
    let (st, c) = citizen(app, &tb, &pid).await;
    assert_eq!(st, StatusCode::OK, "the destination sees the arrival");
    assert_eq!(c["citizen"]["temporary"]["unit"], format!("2025:{COMMUNE_B}"));
    assert_eq!(citizen(app, &ta, &pid).await.0, StatusCode::OK, "the home commune keeps seeing its resident");
    let recs = records(app, &ta, &pid).await;
    let temp = current(&recs, "temporary");
    assert_eq!(temp.len(), 1, "{recs:?}");
    assert_eq!(temp[0]["application_id"], id);
    assert_eq!(temp[0]["commune"], COMMUNE_B);
    assert_eq!(temp[0]["valid_until"], (today() + chrono::Duration::days(365)).to_string());
    assert_eq!(current(&recs, "permanent")[0]["commune"], COMMUNE_A);

    // Search: each commune finds the person by name.
    for t in [&ta, &tb] {
        let found = body(app.api_get(t, "/api/v1/citizens?q=nguyen%20van%20an").await).await;
        assert_eq!(found["total"], 1, "{found}");
        assert_eq!(found["items"][0]["personal_id"], pid);
    }
    // An extension of up to two years keeps one current temporary record.
    let mut ext = temporary_in_b();
    ext["extension"] = json!(true);
    ext["from"] = json!((today() + chrono::Duration::days(365)).to_string());
    ext["until"] = json!((today() + chrono::Duration::days(700)).to_string());
    let (st, e) = submit(app, &tb, &pid, "residence_temporary", "t2", ext).await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    let (st, _) = decide(app, &tb, e["id"].as_i64().unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    let recs = records(app, &tb, &pid).await;
    let temp = current(&recs, "temporary");
    assert_eq!(temp.len(), 1, "{recs:?}");
    assert_eq!(temp[0]["application_id"], e["id"]);
    assert!(recs.iter().any(|r| r["end_reason"] == "extended"));
}

async fn household(app: &TestApp, number: &str, members: &[(&str, Relation)]) {
    let h = Household {
        number: number.into(),
        members: members
            .iter()
            .map(|(p, r)| Member { personal_id: p.parse().unwrap(), relation: *r })
            .collect(),
    };
    let ch = Change { actor: "test:setup".into(), reason: "lập hộ".into(), at: chrono::Utc::now() };
    app.store.create_household(&h, &ch).await.unwrap();
}

async fn person(app: &TestApp, id: &str, given: &str, commune: &str) {
    let c = draft(id, "Lê", "Thị", given, "02/02/1995", "Nữ", commune).validate(today()).unwrap();
    let ch = Change {
        actor: "test:setup".into(), reason: "dữ liệu kiểm thử".into(), at: chrono::Utc::now()
    };
    app.store.create_citizen(&c, &ch).await.unwrap();
}

async fn a_head_cannot_leave_a_household_without_a_head(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let ta = app.token("xa_a").await;
    let head = app.citizen_a.personal_id.to_string();
    person(app, "001195000111", "Hoa", COMMUNE_A).await;
    household(app, "HA1", &[(head.as_str(), Relation::Head), ("001195000111", Relation::Spouse)]).await;
    let before = citizen(app, &ta, &head).await.1;
    let new_home = json!({"procedure": "permanent", "unit": format!("2025:{COMMUNE_A}"),
                          "detail": "Số 99 đường Láng", "household": {"choice": "new"}});
    let (st, a) = submit(app, &ta, &head, "residence_permanent", "p1", new_home).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let id = a["id"].as_i64().unwrap();
    let (st, e) = decide(app, &ta, id).await;
    assert_eq!((st, rule(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "household.head_leaves".into()), "{e}");
    // Nothing changed: the application waits in process, the record and household stand.
    let file = body(app.api_get(&ta, &format!("/api/v1/applications/{id}")).await).await;
    assert_eq!(file["state"], "in_process");
    let after = citizen(app, &ta, &head).await.1;
    assert_eq!(after["version"], before["version"]);
    assert_eq!(after["household_no"], "HA1");
    let h = body(app.api_get(&ta, "/api/v1/households/HA1").await).await;
    assert_eq!(h["head"], head);
    // A member without dependants can found a household of their own.
    let (_, b) = submit(
        app,
        &ta,
        "001195000111",
        "residence_permanent",
        "p2",
        json!({"procedure": "permanent", "unit": format!("2025:{COMMUNE_A}"), "detail": "Số 7 ngõ 3", "household": {"choice": "new"}}),
    )
    .await;
    let (st, done) = decide(app, &ta, b["id"].as_i64().unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{done}");
    let moved = citizen(app, &ta, "001195000111").await.1;
    assert_eq!(moved["household_no"], format!("HK{}", b["id"]));
    assert_eq!(moved["relation"], "head");
    assert_eq!(moved["citizen"]["permanent"]["detail"], "Số 7 ngõ 3");
    let h = body(app.api_get(&ta, "/api/v1/households/HA1").await).await;
    assert_eq!(h["members"].as_array().unwrap().len(), 1, "{h}");
}

async fn joining_a_household_waits_for_the_heads_consent(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let ta = app.token("xa_a").await;
    let head = app.citizen_a.personal_id.to_string();
    household(app, "HA2", &[(head.as_str(), Relation::Head)]).await;
    person(app, "001195000222", "Lan", COMMUNE_A).await;
    let join = json!({"procedure": "permanent", "unit": format!("2025:{COMMUNE_A}"), "detail": "ignored",
                      "household": {"choice": "join", "number": "HA2", "relation": "spouse"}});
    let (st, a) = submit(app, &ta, "001195000222", "residence_permanent", "j1", join).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["consent_from"], head);
    let id = a["id"].as_i64().unwrap();
    let (st, e) = decide(app, &ta, id).await;
    assert_eq!((st, rule(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "residence.head_consent_missing".into()));
    // The head's written consent, recorded at the desk.
    let r = app.api_post(&ta, &format!("/api/v1/applications/{id}/consent")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let consents = body(r).await;
    assert_eq!(
        (consents[0]["personal_id"].as_str(), consents[0]["method"].as_str()),
        (Some(head.as_str()), Some("written"))
    );
    let r = app.api_post(&ta, &format!("/api/v1/applications/{id}/consent")).await;
    assert_eq!((r.status(), rule(&body(r).await)), (StatusCode::CONFLICT, "residence.consent_given".into()));
    let b = json!({"to": "completed", "reason": "", "expected_version": 3});
    let r = app.post_json(&ta, format!("{}/api/v1/applications/{id}/transitions", app.base), &b).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // A member of the household, at the household's address.
    let joined = citizen(app, &ta, "001195000222").await.1;
    assert_eq!((joined["household_no"].as_str(), joined["relation"].as_str()), (Some("HA2"), Some("spouse")));
    assert_eq!(joined["citizen"]["permanent"], app_citizen_a_permanent(app));
    let recs = records(app, &ta, "001195000222").await;
    let perm = current(&recs, "permanent");
    assert_eq!((perm.len(), perm[0]["application_id"].as_i64()), (1, Some(id)));
}

fn app_citizen_a_permanent(app: &TestApp) -> Value {
    serde_json::to_value(app.citizen_a.permanent.as_ref().unwrap()).unwrap()
}

async fn a_stay_is_in_effect_at_once_and_the_stay_commune_sees_it(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let tb = app.token("xa_b").await;
    let host = app.citizen_b.personal_id.to_string();
    let guest = app.citizen_a.personal_id.to_string();
    let stay = json!({"procedure": "stay", "unit": format!("2025:{COMMUNE_B}"), "detail": "Nhà nghỉ Hoa Sen",
                      "from": today().to_string(), "until": (today() + chrono::Duration::days(2)).to_string(),
                      "guests": [guest]});
    let (st, a) = submit(app, &tb, &host, "residence_stay", "s1", stay.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["state"], "completed", "a stay notification needs no approval");
    // Retried: the same application, no second stay.
    let (st, again) = submit(app, &tb, &host, "residence_stay", "s1", stay).await;
    assert_eq!((st, &again["id"]), (StatusCode::OK, &a["id"]));
    let stays = body(app.api_get(&tb, "/api/v1/residences?kind=stay").await).await;
    assert_eq!(stays["total"], 1, "{stays}");
    assert_eq!(stays["items"][0]["personal_id"], guest);
    // The guest is in the stay commune's scope while the stay lasts.
    assert_eq!(citizen(app, &tb, &guest).await.0, StatusCode::OK);
    let ta = app.token("xa_a").await;
    assert_eq!(body(app.api_get(&ta, "/api/v1/residences?kind=stay").await).await["total"], 0);
}

async fn bad_requests_name_the_field_and_change_nothing(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let ta = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    let b = json!({"personal_id": pid, "service_code": "residence_temporary", "idempotency_key": "x"});
    let r = app.post_json(&ta, format!("{}/api/v1/applications", app.base), &b).await;
    assert_eq!(
        (r.status(), rule(&body(r).await)),
        (StatusCode::UNPROCESSABLE_ENTITY, "residence.payload_required".into())
    );
    let mut long = temporary_in_b();
    long["until"] = json!((today() + chrono::Duration::days(800)).to_string());
    let tb = app.token("xa_b").await;
    let (st, e) = submit(app, &tb, &pid, "residence_temporary", "x", long).await;
    assert_eq!(
        (st, rule(&e), field(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "residence.temporary_too_long".into(), "payload.until".into())
    );
    let (st, e) = submit(app, &ta, &pid, "residence_absence", "x", temporary_in_b()).await;
    assert_eq!((st, rule(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "residence.procedure_service".into()));
    // A destination outside the officer's scope is not theirs to register.
    let (st, _) = submit(app, &ta, &pid, "residence_temporary", "x", temporary_in_b()).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Temporary residence in the home commune is refused at completion, naming the rule.
    let home = json!({"procedure": "temporary", "unit": format!("2025:{COMMUNE_A}"), "detail": "Số 1",
                      "from": today().to_string(), "until": (today() + chrono::Duration::days(30)).to_string()});
    let (st, a) = submit(app, &ta, &pid, "residence_temporary", "h", home).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, e) = decide(app, &ta, a["id"].as_i64().unwrap()).await;
    assert_eq!(
        (st, rule(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "residence.temporary_in_home_commune".into())
    );
    let stored = body(app.api_get(&ta, "/api/v1/applications").await).await;
    assert_eq!(stored["total"], 1, "only the application refused at completion is stored");
    let c = citizen(app, &ta, &pid).await.1;
    assert!(c["citizen"]["temporary"].is_null());
    // Joining an unknown household is refused at submission.
    let join = json!({"procedure": "permanent", "unit": format!("2025:{COMMUNE_A}"), "detail": "x",
                      "household": {"choice": "join", "number": "NOPE1", "relation": "child"}});
    let (st, e) = submit(app, &ta, &pid, "residence_permanent", "j", join).await;
    assert_eq!((st, rule(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "residence.household_unknown".into()));
}

async fn existing_addresses_are_residence_records(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let ta = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    let recs = records(app, &ta, &pid).await;
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!((recs[0]["kind"].as_str(), recs[0]["commune"].as_str()), (Some("permanent"), Some(COMMUNE_A)));
    // Records stored before migration 0018 are copied once at start: drop them, mark the
    // copy as not done, and start the store again.
    app.sql("DELETE FROM residences; DELETE FROM data_upgrades;").await;
    let db =
        dancu_store::Database::open(&app.url, dancu_store::audit_chain::AuditKey::generate()).await.unwrap();
    drop(db);
    let recs = records(app, &ta, &pid).await;
    assert_eq!((recs.len(), recs[0]["source"].as_str()), (1, Some("migration")), "{recs:?}");
    // An officer's address edit ends the old record and starts the new one.
    let c = citizen(app, &ta, &pid).await.1;
    let mut d = app.citizen_a.to_draft();
    d.permanent_detail = "Số 8 ngõ 4".into();
    let b = json!({"citizen": d, "expected_version": c["version"], "reason": "đổi số nhà"});
    let r = app
        .client()
        .put(format!("{}/api/v1/citizens/{pid}", app.base))
        .bearer_auth(&ta)
        .json(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let recs = records(app, &ta, &pid).await;
    assert_eq!(recs.len(), 2);
    assert_eq!(current(&recs, "permanent")[0]["detail"], "Số 8 ngõ 4");
    assert!(recs.iter().any(|r| r["end_reason"] == "replaced" && r["current"] == false));
}

/// A stay notification reaches a partner entitled to residence events in the stay's commune,
/// with the place only for a partner entitled to addresses.
async fn a_stay_is_in_the_change_feed(backend: &'static str) {
    use dancu_store::feed::EventKind;
    use dancu_store::partners::{CardField, Operation, Partner};
    let app = &TestApp::start(backend).await;
    let p = Partner {
        client_id: "luutru".into(),
        name: "Đối tác lưu trú".into(),
        suspended: false,
        rate_per_sec: 1000,
        burst: 1000,
        operations: vec![Operation::Feed],
        fields: vec![CardField::FullName],
        units: vec![dancu_store::Scope::Commune(COMMUNE_B.into())],
        feed_kinds: vec![EventKind::ResidenceRegistered],
        updated_at: dancu_store::registry::now(),
        updated_by: String::new(),
    };
    let admin = dancu_store::registry::Access {
        actor: "officer:admin".into(),
        role: dancu_store::Role::Admin,
        scope: dancu_store::Scope::Nation,
        purpose: "x".into(),
    };
    app.state.registry.partner_entitle(&admin, &p).await.unwrap();
    let tb = app.token("xa_b").await;
    let stay = json!({"procedure": "stay", "unit": format!("2025:{COMMUNE_B}"), "detail": "Nhà nghỉ Hoa Sen",
                      "from": today().to_string(), "until": (today() + chrono::Duration::days(2)).to_string(),
                      "guests": [app.citizen_a.personal_id.to_string()]});
    let (st, _) = submit(app, &tb, &app.citizen_b.personal_id.to_string(), "residence_stay", "s", stay).await;
    assert_eq!(st, StatusCode::CREATED);
    dancu_store::feed::sequence(app.store.as_ref(), 1000).await.unwrap();
    let events: Vec<serde_json::Map<String, Value>> = dancu_store::feed::read(app.store.as_ref(), 0, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.visible_to(&p))
        .map(|e| e.payload_for(&p))
        .collect();
    let stays: Vec<_> = events.iter().filter(|e| e["residence_kind"] == "stay").collect();
    assert_eq!(stays.len(), 1, "{events:?}");
    assert_eq!(stays[0]["valid_from"], today().to_string());
    assert!(stays[0].get("residence_detail").is_none(), "no address field, no address");
}
