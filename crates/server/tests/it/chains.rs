//! The linked procedures (issue 15, parts 1 and 2) on SQLite and PostgreSQL: a birth sent by
//! a civil-status partner gives the child a personal ID in the answer, a record in the named
//! parent's household, a permanent residence following the parent's, and a
//! `birth.registered` event that the social-insurance partner sees and an unentitled partner
//! does not; the same registration number again gives the same chain; a failing step is
//! retried with back-off, shows in the officers' worklist with its reason and is resolved
//! (data fixed then retried, a field corrected, closed with a note); a death marks the
//! person deceased, ends the residence, locks the eID account, revokes the card and tells
//! the partners; bad input names the field and the rule and stores nothing.

use std::time::Duration;

use crate::common::*;
use crate::oidc::partner;
use dancu_domain::household::Member;
use dancu_domain::{Household, LifeStatus, Relation};
use dancu_store::feed::EventKind;
use dancu_store::partners::{CardField, Operation, Partner};
use dancu_store::{Change, Scope};
use serde_json::{json, Value};

on_both_backends!(
    a_birth_runs_end_to_end,
    a_resubmitted_birth_is_the_same_chain,
    failing_steps_are_retried_listed_and_resolved,
    a_death_runs_end_to_end,
    bad_registrations_name_field_and_rule,
    two_workers_run_each_step_once,
);

const PURPOSE: &str = "đăng ký khai sinh liên thông";

async fn entitle(
    app: &TestApp,
    client_id: &str,
    ops: &[Operation],
    kinds: &[EventKind],
    fields: &[CardField],
) {
    let p = Partner { fields: fields.to_vec(), feed_kinds: kinds.to_vec(), ..entitlement(client_id, ops) };
    entitle_partner(app, &p).await;
}

/// A partner client's token with `scope`.
async fn token(app: &TestApp, client_id: &str, scope: &str) -> String {
    let mut reg = partner(client_id);
    reg.scopes = vec!["partner:civil".into(), "partner:feed".into()];
    client_token(app, reg, Some(scope)).await
}

/// Justice (civil registration), social insurance and labour (birth / death events), and a
/// partner whose feed takes neither.
async fn partners(app: &TestApp) -> (String, String, String) {
    entitle(app, "tuphap", &[Operation::CivilRegistration], &[], &[]).await;
    let fields = [CardField::FullName, CardField::DateOfBirth, CardField::LifeStatus, CardField::Household];
    entitle(
        app,
        "bhxh",
        &[Operation::Feed],
        &[EventKind::BirthRegistered, EventKind::DeathRegistered],
        &fields,
    )
    .await;
    entitle(app, "khac", &[Operation::Feed], &[EventKind::CitizenCreated], &fields).await;
    (
        token(app, "tuphap", "partner:civil").await,
        token(app, "bhxh", "partner:feed").await,
        token(app, "khac", "partner:feed").await,
    )
}

fn change() -> Change {
    Change {
        actor: "test:setup".into(), reason: "dữ liệu kiểm thử".into(), at: dancu_store::registry::now()
    }
}

/// Citizen A heads household `number`.
async fn household_of_a(app: &TestApp, number: &str) {
    let h = Household {
        number: number.into(),
        members: vec![Member { personal_id: app.citizen_a.personal_id, relation: Relation::Head }],
    };
    app.store.create_household(&h, &change()).await.unwrap();
}

fn birth(app: &TestApp, no: &str) -> Value {
    json!({
        "purpose": PURPOSE,
        "registration_no": no,
        "family_name": "Nguyễn",
        "middle_name": "Minh",
        "given_name": "An",
        "sex": "Nữ",
        "birth_date": (chrono::Utc::now().date_naive() - chrono::Duration::days(3)).to_string(),
        "birth_place": format!("2025:{COMMUNE_A}"),
        "father_id": app.citizen_a.personal_id.to_string(),
        "mother_id": app.citizen_b.personal_id.to_string(),
        "household_of": app.citizen_a.personal_id.to_string(),
    })
}

async fn post(app: &TestApp, t: &str, path: &str, b: &Value) -> (u16, Value) {
    status_body(app.post_json(t, format!("{}{path}", app.base), b).await).await
}

async fn chain(app: &TestApp, t: &str, kind: &str, no: &str) -> (u16, Value) {
    status_body(app.api_get(t, &format!("/api/v1/partner/{kind}/{no}?purpose={PURPOSE}")).await).await
}

/// Polls a chain until `done` holds (the worker runs in the background), at most 10 s.
async fn wait_for(app: &TestApp, t: &str, kind: &str, no: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let (s, v) = chain(app, t, kind, no).await;
        assert_eq!(s, 200, "{v}");
        if done(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chain {no} never reached the expected state: {}", chain(app, t, kind, no).await.1);
}

async fn feed(app: &TestApp, t: &str) -> Vec<Value> {
    let r = app
        .client()
        .get(format!("{}/api/v1/partner/feed?purpose=cấp thẻ bảo hiểm y tế&limit=5000", app.base))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    body(r).await["events"].as_array().unwrap().clone()
}

fn rule_of(v: &Value) -> (String, String) {
    let first = &v["error"]["violations"][0];
    (first["field"].as_str().unwrap_or("").into(), first["rule"].as_str().unwrap_or("").into())
}

async fn a_birth_runs_end_to_end(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (tj, tb, tk) = partners(app).await;
    household_of_a(app, "HCHAIN1").await;
    let (s, v) = post(app, &tj, "/api/v1/partner/births", &birth(app, "KS-2026.0001")).await;
    assert_eq!(s, 201, "{v}");
    let id = v["personal_id"].as_str().unwrap().to_string();
    // Registered in Hà Nội (legacy province 01), a girl born this century: 001 3 yy …
    assert_eq!(id.len(), 12);
    assert!(id.starts_with("0013"), "{id}");
    assert_eq!(v["state"], "insurance_notified", "{v}");
    assert_eq!(v["status"], "done");
    let steps: Vec<&str> =
        v["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["received", "id_issued", "registered", "residence_registered", "insurance_notified"]);

    let child = app.store.get_citizen(&id.parse().unwrap()).await.unwrap().expect("the child's record");
    assert_eq!(child.household_no.as_deref(), Some("HCHAIN1"));
    assert_eq!(child.relation, Some(Relation::Child));
    assert_eq!(child.citizen.father_name, "Nguyễn Văn Ấn");
    assert_eq!(child.citizen.mother_name, "Trần Thị Bình");
    let perm = child.citizen.permanent.as_ref().expect("permanent residence");
    assert_eq!(perm.unit.to_string(), format!("2025:{COMMUNE_A}"));
    let records =
        dancu_store::residences::of_person(app.store.as_ref(), &child.citizen.personal_id).await.unwrap();
    assert!(records.iter().any(|r| r.current && r.kind.code() == "permanent"), "{records:?}");

    // Social insurance sees the event with its fields; the other partner does not.
    let events = feed(app, &tb).await;
    let births: Vec<&Value> = events.iter().filter(|e| e["kind"] == "birth.registered").collect();
    assert_eq!(births.len(), 1, "{events:?}");
    assert_eq!(births[0]["personal_id"], id.as_str());
    assert_eq!(births[0]["data"]["registration_no"], "KS-2026.0001");
    assert_eq!(births[0]["data"]["full_name"], "Nguyễn Minh An");
    assert_eq!(births[0]["data"]["household_no"], "HCHAIN1");
    assert!(births[0]["data"].get("permanent_unit").is_none(), "not entitled to the address");
    assert!(feed(app, &tk).await.iter().all(|e| e["kind"] != "birth.registered"));

    // The chain by registration number, for the partner that sent it only.
    let (s, g) = chain(app, &tj, "births", "KS-2026.0001").await;
    assert_eq!((s, g["personal_id"].as_str()), (200, Some(id.as_str())));
    let (s, g) = chain(app, &tb, "births", "KS-2026.0001").await;
    assert_eq!((s, g["error"]["code"].as_str()), (403, Some("insufficient_scope")));
    assert_eq!(chain(app, &tj, "births", "KS-2026.9999").await.0, 404);
    // The officer of commune A sees it on the board; commune B's officer does not.
    let board = web_get(app, &app.token("xa_a").await, "/chains?kind=birth&state=insurance_notified").await;
    assert!(board.contains("chain-KS-2026.0001"));
    let board = web_get(app, &app.token("xa_b").await, "/chains?kind=birth").await;
    assert!(!board.contains("chain-KS-2026.0001"));
    let (s, _) = web(app, &app.token("xa_b").await, &format!("/chains?unit={COMMUNE_A}")).await;
    assert_eq!(s, 422, "a unit outside the scope");
}

async fn a_resubmitted_birth_is_the_same_chain(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (tj, _, _) = partners(app).await;
    household_of_a(app, "HCHAIN2").await;
    let b = birth(app, "KS-2026.0002");
    let (s1, v1) = post(app, &tj, "/api/v1/partner/births", &b).await;
    let (s2, v2) = post(app, &tj, "/api/v1/partner/births", &b).await;
    assert_eq!((s1, s2), (201, 200), "{v1} {v2}");
    assert_eq!(v1["personal_id"], v2["personal_id"]);
    // Sent twice at the same moment: one chain, one child, the same ID in both answers.
    let b3 = birth(app, "KS-2026.0003");
    let ((s3, v3), (s4, v4)) = tokio::join!(
        post(app, &tj, "/api/v1/partner/births", &b3),
        post(app, &tj, "/api/v1/partner/births", &b3)
    );
    let mut statuses = [s3, s4];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "{v3} {v4}");
    assert!(v3["personal_id"].is_string(), "{v3}");
    assert_eq!(v3["personal_id"], v4["personal_id"]);
    let h = app.store.get_household("HCHAIN2").await.unwrap().unwrap();
    assert_eq!(h.members.len(), 3, "two children, not four");
    // Another authority cannot take the number.
    entitle(app, "tuphap2", &[Operation::CivilRegistration], &[], &[]).await;
    let t2 = token(app, "tuphap2", "partner:civil").await;
    let (s, e) = post(app, &t2, "/api/v1/partner/births", &b).await;
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("registration_taken")), "{e}");
}

async fn start_fast(backend: &'static str) -> TestApp {
    let mut config = dancu_server::ServerConfig::default();
    config.chains.poll = Duration::from_millis(30);
    config.chains.timing.base_backoff = Duration::from_millis(40);
    config.chains.timing.max_backoff = Duration::from_millis(150);
    TestApp::start_with(backend, config).await
}

/// An officer's page (a bearer token stands for the session; no CSRF token then).
async fn web(app: &TestApp, t: &str, path: &str) -> (u16, String) {
    let r = app.client().get(format!("{}{path}", app.base)).bearer_auth(t).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn web_get(app: &TestApp, t: &str, path: &str) -> String {
    let (s, page) = web(app, t, path).await;
    assert_eq!(s, 200, "{path}: {page}");
    page
}

async fn act(app: &TestApp, t: &str, chain_id: i64, form: &[(&str, &str)]) -> reqwest::Response {
    let mut f = vec![("csrf", "")];
    f.extend_from_slice(form);
    app.client()
        .post(format!("{}/chains/{chain_id}/actions", app.base))
        .bearer_auth(t)
        .form(&f)
        .send()
        .await
        .unwrap()
}

/// The chain's id on the officers' pages (from the worklist's link).
fn chain_id(page: &str, no: &str) -> i64 {
    let at = page.find(&format!(">Khai sinh {no}<")).or_else(|| page.find(&format!("{no}</a>"))).expect(no);
    let href = page[..at].rfind("/chains/").unwrap();
    page[href + 8..].split('"').next().unwrap().parse().unwrap()
}

async fn failing_steps_are_retried_listed_and_resolved(backend: &'static str) {
    let app = &start_fast(backend).await;
    let (tj, _, _) = partners(app).await;
    // 1. A has no household yet: the ID is issued, then the step fails and is retried.
    let (s, v) = post(app, &tj, "/api/v1/partner/births", &birth(app, "KS-2026.0101")).await;
    assert_eq!(s, 201, "{v}");
    assert!(v["personal_id"].as_str().is_some_and(|i| i.len() == 12), "the ID comes first: {v}");
    assert_eq!(v["state"], "failed");
    assert_eq!(v["step"], "id_issued");
    assert_eq!(
        (v["error"]["field"].as_str(), v["error"]["rule"].as_str()),
        (Some("household_of"), Some("chain.household_missing"))
    );
    let retried = wait_for(app, &tj, "births", "KS-2026.0101", |v| v["attempts"].as_i64() >= Some(3)).await;
    assert_eq!(retried["state"], "failed");

    // 2. An unknown mother, 3. an unknown parent whose household the child joins.
    let mut b = birth(app, "KS-2026.0102");
    b["mother_id"] = json!("001190099999");
    let (_, v) = post(app, &tj, "/api/v1/partner/births", &b).await;
    assert_eq!(
        (v["error"]["field"].as_str(), v["error"]["rule"].as_str()),
        (Some("mother_id"), Some("chain.parent_not_found")),
        "{v}"
    );
    let mut b = birth(app, "KS-2026.0103");
    b["father_id"] = json!("001090099999");
    b["household_of"] = json!("001090099999");
    let (_, v) = post(app, &tj, "/api/v1/partner/births", &b).await;
    assert_eq!(v["error"]["rule"], "chain.parent_not_found", "{v}");

    // The worklist of commune A lists them with their reasons; commune B's does not.
    let ja = &app.token("xa_a").await;
    let page = web_get(app, ja, "/chains/exceptions").await;
    for no in ["KS-2026.0101", "KS-2026.0102", "KS-2026.0103"] {
        assert!(page.contains(&format!("exception-{no}")), "{no} in the worklist");
    }
    assert!(page.contains("chain.household_missing") && page.contains("chain.parent_not_found"));
    let jb = &app.token("xa_b").await;
    assert!(!web_get(app, jb, "/chains/exceptions").await.contains("KS-2026.0101"));

    // 1: the household is made, the officer retries now, the chain completes.
    household_of_a(app, "HCHAIN3").await;
    let id1 = chain_id(&page, "KS-2026.0101");
    assert!(act(app, ja, id1, &[("action", "retry")]).await.status().is_redirection());
    let done = wait_for(app, &tj, "births", "KS-2026.0101", |v| v["status"] == "done").await;
    assert_eq!(done["state"], "insurance_notified");

    // 2: the officer corrects the mother's ID; the chain completes with her name.
    let id2 = chain_id(&page, "KS-2026.0102");
    let b_id = app.citizen_b.personal_id.to_string();
    let r = act(app, ja, id2, &[("action", "correct"), ("field", "mother_id"), ("value", &b_id)]).await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let done = wait_for(app, &tj, "births", "KS-2026.0102", |v| v["status"] == "done").await;
    let child = app
        .store
        .get_citizen(&done["personal_id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(child.citizen.mother_name, "Trần Thị Bình");
    let outcomes: Vec<&str> =
        done["steps"].as_array().unwrap().iter().map(|s| s["outcome"].as_str().unwrap()).collect();
    assert!(outcomes.contains(&"failed") && outcomes.contains(&"corrected"), "{outcomes:?}");

    // 3: a correction that breaks a rule is refused naming it; resolved with a note.
    let id3 = chain_id(&page, "KS-2026.0103");
    let r = act(app, ja, id3, &[("action", "correct"), ("field", "sex"), ("value", "Nam")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("chain.field_locked"));
    let r = act(app, ja, id3, &[("action", "resolve"), ("note", "")]).await;
    assert_eq!(r.status(), 422);
    let r = act(app, ja, id3, &[("action", "resolve"), ("note", "đã nhập hộ tại xã, bản giấy")]).await;
    assert!(r.status().is_redirection());
    let (_, v) = chain(app, &tj, "births", "KS-2026.0103").await;
    assert_eq!((v["state"].as_str(), v["status"].as_str()), (Some("resolved"), Some("resolved")));
    let attempts = v["attempts"].as_i64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        chain(app, &tj, "births", "KS-2026.0103").await.1["attempts"].as_i64(),
        attempts,
        "not retried"
    );
    let page = web_get(app, ja, "/chains/exceptions").await;
    assert!(!page.contains("exception-KS-2026"), "the worklist is empty");
    // The board counts them by state; the chain's page shows its history.
    let board = web_get(app, ja, "/chains?kind=birth").await;
    assert!(board.contains(r#"data-testid="count-birth-insurance_notified">2<"#), "{board}");
    assert!(board.contains(r#"data-testid="count-birth-resolved">1<"#));
    let detail = web_get(app, ja, &format!("/chains/{id2}")).await;
    assert!(detail.contains("mother_id = "));
    assert_eq!(web(app, jb, &format!("/chains/{id2}")).await.0, 404);
    let en = web_get(app, ja, "/chains?lang=en").await;
    assert!(en.contains("Linked procedures"));
}

async fn a_death_runs_end_to_end(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (tj, tb, tk) = partners(app).await;
    entitle(app, "ldtbxh", &[Operation::Feed], &[EventKind::DeathRegistered], &[CardField::LifeStatus]).await;
    let tl = token(app, "ldtbxh", "partner:feed").await;
    let a = app.citizen_a.personal_id;
    crate::eid::approved(app).await;
    let ta = app.token("xa_a").await;
    crate::card_law::issue_card(app, &ta, a.as_str()).await;
    let d = json!({
        "purpose": "đăng ký khai tử liên thông",
        "registration_no": "KT-2026.0001",
        "personal_id": a.to_string(),
        "death_date": (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string(),
        "death_place": format!("2025:{COMMUNE_A}"),
    });
    let (s, v) = post(app, &tj, "/api/v1/partner/deaths", &d).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "partners_notified", "{v}");
    let stored = app.store.get_citizen(&a).await.unwrap().unwrap();
    assert_eq!(stored.citizen.status, LifeStatus::Deceased);
    assert!(stored.citizen.death_date.is_some());
    let records = dancu_store::residences::of_person(app.store.as_ref(), &a).await.unwrap();
    assert!(!records.is_empty() && records.iter().all(|r| !r.current), "{records:?}");
    assert!(records.iter().any(|r| r.end_reason == "deceased"));
    let account = dancu_store::eid::get_account(app.store.as_ref(), &a).await.unwrap().unwrap();
    assert!(account.state.is_locked(), "{:?}", account.state);
    let cards = app.store.get_cards(&a).await.unwrap();
    assert!(!cards.is_empty() && cards.iter().all(|c| c.status.code() != "valid"), "{cards:?}");
    for t in [&tb, &tl] {
        let events = feed(app, t).await;
        let deaths: Vec<&Value> = events.iter().filter(|e| e["kind"] == "death.registered").collect();
        assert_eq!(deaths.len(), 1, "{events:?}");
        assert_eq!(deaths[0]["data"]["status"], "deceased");
    }
    assert!(feed(app, &tk).await.iter().all(|e| e["kind"] != "death.registered"));
    let (s, again) = post(app, &tj, "/api/v1/partner/deaths", &d).await;
    assert_eq!((s, again["state"].as_str()), (200, Some("partners_notified")));
    // A death of an unknown person waits in the worklist.
    let mut unknown = d.clone();
    unknown["registration_no"] = json!("KT-2026.0002");
    unknown["personal_id"] = json!("001090099999");
    let (s, v) = post(app, &tj, "/api/v1/partner/deaths", &unknown).await;
    assert_eq!(s, 201);
    assert_eq!(
        (v["state"].as_str(), v["error"]["rule"].as_str()),
        (Some("failed"), Some("chain.person_not_found"))
    );
}

async fn bad_registrations_name_field_and_rule(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let (tj, tb, _) = partners(app).await;
    household_of_a(app, "HCHAIN4").await;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("household_of", json!("001090099999"), "household_of", "chain.household_of"),
        ("registration_no", json!("KS 2026!"), "registration_no", "chain.registration_no"),
        ("birth_date", json!("2999-01-01"), "birth_date", "date.future"),
        ("birth_date", json!("2020"), "birth_date", "chain.birth_date_full"),
        ("birth_place", json!("00004"), "birth_place", "unit.list_missing"),
        ("father_id", json!("12345"), "father_id", "id.length"),
    ];
    for (field, value, want_field, want_rule) in cases {
        let mut b = birth(app, "KS-2026.0201");
        b[field] = value;
        let (s, e) = post(app, &tj, "/api/v1/partner/births", &b).await;
        assert_eq!(s, 422, "{field}: {e}");
        assert_eq!(e["error"]["code"], "validation_failed");
        let (f, r) = rule_of(&e);
        assert_eq!(f, want_field, "{e}");
        if want_rule != "date.future" {
            assert_eq!(r, want_rule, "{e}");
        }
    }
    // Nothing was stored.
    assert_eq!(chain(app, &tj, "births", "KS-2026.0201").await.0, 404);
    assert_eq!(app.store.get_household("HCHAIN4").await.unwrap().unwrap().members.len(), 1);
    let (s, e) = post(
        app,
        &tj,
        "/api/v1/partner/deaths",
        &json!({"purpose": PURPOSE, "registration_no": "KT-1", "personal_id": "123", "death_date": "2026-01-01", "death_place": "2025:00004"}),
    )
    .await;
    assert_eq!((s, rule_of(&e).0.as_str()), (422, "personal_id"), "{e}");
    let (s, e) =
        post(app, &tj, "/api/v1/partner/deaths", &json!({"purpose": PURPOSE, "registration_no": "KT-1"}))
            .await;
    assert!(s == 400 || s == 422, "{s} {e}");
    // A place outside the partner's units.
    let mut p = app.state.registry.partner("tuphap").await.unwrap().unwrap();
    p.units = vec![Scope::Commune(COMMUNE_B.into())];
    entitle_partner(app, &p).await;
    let (s, e) = post(app, &tj, "/api/v1/partner/births", &birth(app, "KS-2026.0204")).await;
    assert_eq!((s, rule_of(&e)), (422, ("birth_place".into(), "partner.unit_outside".into())), "{e}");
    // A partner without the operation is refused with its code.
    entitle(app, "bhxh", &[Operation::Feed, Operation::Verify], &[EventKind::BirthRegistered], &[]).await;
    let tb2 = {
        let r = app
            .client()
            .post(format!("{}/api/v1/partner/births", app.base))
            .bearer_auth(&tb)
            .json(&birth(app, "KS-2026.0202"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), body(r).await)
    };
    assert_eq!((tb2.0, tb2.1["error"]["code"].as_str()), (403, Some("insufficient_scope")));
    entitle(app, "khac2", &[Operation::Feed], &[], &[]).await;
    let tk2 = token(app, "khac2", "partner:civil").await;
    let (s, e) = post(app, &tk2, "/api/v1/partner/births", &birth(app, "KS-2026.0203")).await;
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("partner_not_entitled")), "{e}");
}

/// Two workers (on PostgreSQL each with its own pool and registry, as two servers) retry the
/// same failing chains: each step is done once, each child joins once, each event once.
async fn two_workers_run_each_step_once(backend: &'static str) {
    let timing = dancu_store::chains::Timing {
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        lease: Duration::from_secs(30),
    };
    let mut config = dancu_server::ServerConfig::default();
    config.chains.enabled = false;
    config.chains.timing = timing;
    let app = &TestApp::start_with(backend, config).await;
    let (tj, tb, _) = partners(app).await;
    let n = 16;
    for i in 0..n {
        let (s, v) = post(app, &tj, "/api/v1/partner/births", &birth(app, &format!("KS-2W-{i}"))).await;
        assert_eq!((s, v["error"]["rule"].as_str()), (201, Some("chain.household_missing")), "{v}");
    }
    household_of_a(app, "HCHAIN5").await;
    let mut writer = None;
    let second = if backend == "postgres" {
        let db = dancu_store::Database::open(&app.url, dancu_store::audit_chain::AuditKey::generate())
            .await
            .unwrap();
        let (registry, w) = db.start_registry(64, None);
        writer = Some(w);
        registry
    } else {
        app.state.registry.clone()
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let work = |r: dancu_store::registry::Registry| async move {
        for _ in 0..100 {
            r.chain_round(&timing, 3).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::join!(work(app.state.registry.clone()), work(second));
    for i in 0..n {
        let (_, v) = chain(app, &tj, "births", &format!("KS-2W-{i}")).await;
        assert_eq!(v["state"], "insurance_notified", "{v}");
        let done: Vec<&str> = v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["outcome"] == "done")
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(
            done,
            ["received", "id_issued", "registered", "residence_registered", "insurance_notified"]
        );
    }
    assert_eq!(app.store.get_household("HCHAIN5").await.unwrap().unwrap().members.len(), 1 + n);
    let births = feed(app, &tb).await.into_iter().filter(|e| e["kind"] == "birth.registered").count();
    assert_eq!(births, n);
    drop(writer);
}
