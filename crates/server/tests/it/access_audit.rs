//! The one audited path, seen from outside (issue 10): every citizen returned is audited
//! under that citizen, out-of-scope household members are masked and kept, creates of
//! records that exist elsewhere answer neutrally, a write whose audit entry cannot be
//! stored does not happen, and ID allocation and officer creation are scoped. SQLite and
//! PostgreSQL.

use crate::common::*;
use dancu_domain::household::Member;
use dancu_domain::{Household, Relation};
use dancu_store::registry::now;
use dancu_store::{AuditEntry, AuditFilter, Change, NewOfficer, Role, Scope};
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    search_hits_are_in_the_citizens_access_log,
    a_search_page_is_one_entry_that_names_no_other_citizen,
    household_members_outside_scope_are_masked_and_kept,
    creating_an_existing_out_of_scope_citizen_reveals_nothing,
    creating_an_existing_out_of_scope_household_reveals_nothing,
    id_allocation_is_scoped,
    officer_creation_is_scoped,
    a_write_whose_audit_entry_fails_does_not_happen,
);

async fn audit_of(app: &TestApp, subject: &str) -> Vec<AuditEntry> {
    let f = AuditFilter { subject: Some(subject.into()), limit: 1000, ..Default::default() };
    app.store.list_audit(&f).await.unwrap().items
}

async fn search_hits_are_in_the_citizens_access_log(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let a = app.citizen_a.personal_id.to_string();
    let before = audit_of(app, &a).await.len();
    let r = c.get(format!("{}/api/v1/citizens?q={a}", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await["total"], 1);
    let log = audit_of(app, &a).await;
    assert_eq!(log.len(), before + 1, "one entry under the citizen for the search hit");
    let e = &log[0].entry;
    assert_eq!(
        (e.actor.as_str(), e.action.as_str(), e.outcome.as_str()),
        ("officer:xa_a", "citizen.search", "ok")
    );

    // The citizen's own view ("who accessed my data") is the same listing.
    let r =
        c.get(format!("{}/api/v1/citizens/{a}/access-log", app.base)).bearer_auth(&t).send().await.unwrap();
    let items = body(r).await["items"].as_array().unwrap().clone();
    assert!(items.iter().any(|i| i["action"] == "citizen.search"), "{items:?}");

    // A search by name audits each row it returns, and nobody outside the page.
    let b = app.citizen_b.personal_id.to_string();
    let before_b = audit_of(app, &b).await.len();
    let r = c.get(format!("{}/api/v1/citizens?name=nguyen", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(body(r).await["total"], 1);
    assert_eq!(audit_of(app, &b).await.len(), before_b, "commune B's citizen was not returned");
}

/// A page of two hits is one entry, filed under both citizens; each citizen's access log
/// shows it without the other's ID.
async fn a_search_page_is_one_entry_that_names_no_other_citizen(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let a = app.citizen_a.personal_id.to_string();
    let other = draft("001185005678", "Nguyễn", "Thị", "Hoa", "02/02/1985", "Nữ", COMMUNE_A)
        .validate(chrono::Utc::now().date_naive())
        .unwrap();
    let change = Change { actor: "test:setup".into(), reason: "dữ liệu kiểm thử".into(), at: now() };
    app.store.create_citizen(&other, &change).await.unwrap();
    let o = other.personal_id.to_string();
    let r = c.get(format!("{}/api/v1/citizens?name=nguyen", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(body(r).await["total"], 2);

    let (log_a, log_o) = (audit_of(app, &a).await, audit_of(app, &o).await);
    let search = |log: &[AuditEntry]| log.iter().find(|e| e.entry.action == "citizen.search").map(|e| e.seq);
    assert!(search(&log_a).is_some(), "{log_a:?}");
    assert_eq!(search(&log_a), search(&log_o), "the same entry under both");
    let mut returned = log_a[0].entry.returned.clone();
    returned.sort();
    let mut both = vec![a.clone(), o.clone()];
    both.sort();
    assert_eq!(returned, both, "the stored entry keeps what the page returned");

    let r =
        c.get(format!("{}/api/v1/citizens/{a}/access-log", app.base)).bearer_auth(&t).send().await.unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("citizen.search"), "{text}");
    assert!(!text.contains(&o), "the access log of one citizen names no other: {text}");
}

async fn household_members_outside_scope_are_masked_and_kept(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let a = app.citizen_a.personal_id;
    let b = app.citizen_b.personal_id;
    // A household headed in commune A with a member living in commune B (set up around
    // the registry, as a move of residence would leave it).
    let h = Household {
        number: "HMASK1".into(),
        members: vec![
            Member { personal_id: a, relation: Relation::Head },
            Member { personal_id: b, relation: Relation::Spouse },
        ],
    };
    let change = Change { actor: "test:setup".into(), reason: "dữ liệu kiểm thử".into(), at: now() };
    app.store.create_household(&h, &change).await.unwrap();
    let before_b = audit_of(app, b.as_str()).await.len();

    let r = c.get(format!("{}/api/v1/households/HMASK1", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v = body(r).await;
    assert_eq!(v["members"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["members"][0]["personal_id"], a.as_str());
    assert_eq!(v["members_outside_scope"], 1);
    assert!(!v.to_string().contains(b.as_str()), "nothing about the masked member: {v}");
    assert!(!v.to_string().contains(&app.citizen_b.name.given), "{v}");
    assert_eq!(audit_of(app, b.as_str()).await.len(), before_b, "the masked member was not read");
    assert!(audit_of(app, a.as_str()).await.iter().any(|e| e.entry.action == "household.read"));

    // The web page says a member lives elsewhere, without naming them.
    let tb = app.token("xa_b").await;
    let r = c.get(format!("{}/api/v1/households/HMASK1", app.base)).bearer_auth(&tb).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "the head lives outside commune B");

    // Naming the outside member is refused; leaving them out keeps them.
    let url = format!("{}/api/v1/households/HMASK1", app.base);
    let r = c
        .put(&url)
        .bearer_auth(&t)
        .json(&json!({"number": "HMASK1", "reason": "tách hộ", "members": [
            {"personal_id": a.as_str(), "relation": "head"}, {"personal_id": b.as_str(), "relation": "child"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = c
        .put(&url)
        .bearer_auth(&t)
        .json(&json!({"number": "HMASK1", "reason": "cập nhật hộ", "members": [
            {"personal_id": a.as_str(), "relation": "head"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let stored = app.store.get_household("HMASK1").await.unwrap().unwrap();
    assert!(
        stored.members.iter().any(|m| m.personal_id == b && m.relation == Relation::Spouse),
        "the member outside the scope stays as they were"
    );
}

async fn creating_an_existing_out_of_scope_citizen_reveals_nothing(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let b = app.citizen_b.personal_id.to_string();
    // Commune A's officer "creates" commune B's citizen as living in commune A.
    let r = c
        .post(format!("{}/api/v1/citizens", app.base))
        .bearer_auth(&t)
        .json(&json!({"reason": "đăng ký mới", "citizen": {
            "personal_id": b, "family_name": "Lê", "middle_name": "Văn", "given_name": "Khác",
            "birth_date": "1990-07-02", "sex": "Nữ", "permanent_unit": format!("2025:{COMMUNE_A}"),
            "permanent_detail": "Số 1"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let text = r.text().await.unwrap();
    assert!(text.contains("referred_for_review"), "{text}");
    assert!(!text.contains("Bình") && !text.contains(COMMUNE_B) && !text.contains("already"), "{text}");
    let log = audit_of(app, &b).await;
    let e = &log[0].entry;
    assert_eq!(
        (e.action.as_str(), e.outcome.as_str(), e.actor.as_str()),
        ("citizen.create", "denied", "officer:xa_a")
    );
    // Nothing changed.
    let stored = app.store.get_citizen(&app.citizen_b.personal_id).await.unwrap().unwrap();
    assert_eq!(stored.citizen, app.citizen_b);
}

/// A household number that exists outside the scope answers like an existing citizen.
async fn creating_an_existing_out_of_scope_household_reveals_nothing(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let change = Change { actor: "test:setup".into(), reason: "dữ liệu kiểm thử".into(), at: now() };
    let d = draft("001301000888", "Phạm", "Thị", "Hoa", "2001-02-03", "Nữ", COMMUNE_B);
    let cb = d.validate(chrono::Utc::now().date_naive()).unwrap();
    app.store.create_citizen(&cb, &change).await.unwrap();
    let hb = Household {
        number: "HBONLY".into(),
        members: vec![Member { personal_id: cb.personal_id, relation: Relation::Head }],
    };
    app.store.create_household(&hb, &change).await.unwrap();
    let d = draft("001201000999", "Vũ", "Văn", "Nam", "2001-05-06", "Nam", COMMUNE_A);
    let r = app
        .post_json(&t, format!("{}/api/v1/citizens", app.base), &json!({"reason": "đăng ký", "citizen": d}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    let r = c
        .post(format!("{}/api/v1/households", app.base))
        .bearer_auth(&t)
        .json(&json!({"number": "HBONLY", "reason": "lập hộ", "members": [
            {"personal_id": "001201000999", "relation": "head"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert!(r.text().await.unwrap().contains("referred_for_review"));
    assert_eq!(audit_of(app, "HBONLY").await[0].entry.outcome, "denied");
}

async fn id_allocation_is_scoped(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let url = format!("{}/api/v1/personal-ids", app.base);
    // Commune A is in Hà Nội (01): a birth registered in Hồ Chí Minh City (79) is not theirs.
    let r = app.post_json(&t, &url, &json!({"province": "79", "sex": "Nam", "birth_year": 2026})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(r).await["error"]["code"], "out_of_scope");
    assert_eq!(audit_of(app, "province:79").await[0].entry.outcome, "denied");
    let r = app.post_json(&t, &url, &json!({"province": "01", "sex": "Nam", "birth_year": 2026})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = body(r).await["personal_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("001"), "{id}");
    assert_eq!(audit_of(app, &id).await[0].entry.action, "personal_id.allocate");
}

/// An administrator scoped to commune A cannot create a nation-wide officer.
async fn officer_creation_is_scoped(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    app.store
        .create_officer(&NewOfficer {
            username: "qt_xa_a".into(),
            display_name: "Quản trị xã A".into(),
            role: Role::Admin,
            scope: Scope::Commune(COMMUNE_A.into()),
            password_hash: password_hash(),
        })
        .await
        .unwrap();
    let ta = app.token("qt_xa_a").await;
    let new = |scope: &str, user: &str| {
        json!({"username": user, "display_name": "Cán bộ mới", "role": "officer", "scope": scope,
               "password": "mat-khau-du-dai-2025"})
    };
    let r = app.post_json(&ta, format!("{}/api/v1/officers", app.base), &new("nation", "toan_quoc")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "{}", r.text().await.unwrap());
    assert_eq!(audit_of(app, "officer:toan_quoc").await[0].entry.outcome, "denied");
    let r = app
        .post_json(
            &ta,
            format!("{}/api/v1/officers", app.base),
            &new(&format!("commune:{COMMUNE_A}"), "xa_a_2"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
}

async fn a_write_whose_audit_entry_fails_does_not_happen(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let c = app.client();
    let t = app.token("xa_a").await;
    let (fail, heal) = if app.backend == "sqlite" {
        (
            "CREATE TRIGGER audit.audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit down'); END;",
            "DROP TRIGGER audit.audit_down;",
        )
    } else {
        (
            "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit down'; END $$; \
             CREATE TRIGGER audit_down BEFORE INSERT ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_down();",
            "DROP TRIGGER audit_down ON audit_log; DROP FUNCTION audit_down();",
        )
    };
    app.sql(fail).await;
    let d = draft("001201000555", "Đỗ", "Văn", "Tâm", "2001-08-09", "Nam", COMMUNE_A);
    let r = app
        .post_json(&t, format!("{}/api/v1/citizens", app.base), &json!({"reason": "đăng ký", "citizen": d}))
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body(r).await["error"]["code"], "audit_unavailable");
    app.sql(heal).await;
    let id = "001201000555".parse().unwrap();
    assert!(app.store.get_citizen(&id).await.unwrap().is_none(), "no write without its audit entry");
    // With the log back, the same create works.
    let r = app
        .post_json(&t, format!("{}/api/v1/citizens", app.base), &json!({"reason": "đăng ký", "citizen": d}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The outcome entry is queued, not waited for; a later audited read commits after it.
    let r = c.get(format!("{}/api/v1/citizens/001201000555", app.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let log = audit_of(app, "001201000555").await;
    let outcomes: Vec<(&str, &str)> =
        log.iter().rev().map(|e| (e.entry.action.as_str(), e.entry.outcome.as_str())).collect();
    assert_eq!(
        outcomes,
        vec![("citizen.create", "attempt"), ("citizen.create", "ok"), ("citizen.read", "ok")]
    );
}
