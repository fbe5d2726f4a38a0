//! Partner access over HTTP, on SQLite and PostgreSQL (issue 13): verification per field
//! and mode (a TCVN3-garbled name, tone placement), not found and out-of-unit answered alike,
//! a batch of 10,000 records in one call and a larger one refused, the hospital card look-up
//! from a QR payload whose name arrived garbled, every refusal (purpose, scope, unknown,
//! suspended, not entitled, rate limit) with its code and audit entry, the citizen's "who
//! accessed my data" naming the partner and purpose, and the call counts.

use crate::common::*;
use crate::eid::{approved, logged_in, register, register_body};
use crate::oidc::partner;
use dancu_domain::legacy::{decode_cp1252, encode_with, Encoding};
use dancu_store::partners::{CardField, Operation, Partner};
use dancu_store::registry::Access;
use dancu_store::{AuditFilter, Role, Scope};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    a_rate_limit_holds_across_servers,
    verify_fields_and_name_modes,
    not_found_and_out_of_unit_answer_alike,
    concurrent_verifications_each_get_their_own_answer,
    a_batch_of_ten_thousand_in_one_call,
    card_lookup_from_a_garbled_qr,
    refusals_have_codes_and_are_audited,
    the_citizen_sees_the_partner_and_purpose,
);

const PURPOSE: &str = "kiểm tra hồ sơ vay vốn";

/// Entitles `client_id` (an administrator's act through the registry).
async fn entitle(app: &TestApp, client_id: &str, ops: &[Operation], fields: &[CardField], units: &[Scope]) {
    let p = Partner {
        rate_per_sec: 1000,
        burst: 1000,
        fields: fields.to_vec(),
        units: units.to_vec(),
        ..entitlement(client_id, ops)
    };
    entitle_partner(app, &p).await;
}

/// A registered OAuth client's access token (client credentials), with `scope` if given.
async fn partner_token(app: &TestApp, client_id: &str, scope: Option<&str>) -> String {
    client_token(app, partner(client_id), scope).await
}

async fn call(app: &TestApp, token: &str, path: &str, b: &Value) -> (StatusCode, Value) {
    let r = app.post_json(token, format!("{}/api/v1/partner/{path}", app.base), b).await;
    let status = r.status();
    (status, body(r).await)
}

async fn audit(app: &TestApp, f: AuditFilter) -> Vec<dancu_store::NewAuditEntry> {
    app.store
        .list_audit(&AuditFilter { limit: 1000, ..f })
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.entry)
        .collect()
}

fn garble(s: &str, enc: Encoding) -> String {
    decode_cp1252(&encode_with(enc, s).unwrap())
}

async fn verify_fields_and_name_modes(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    // A name whose tone sits on a diphthong: "Hòa" recorded, "Hoà" claimed.
    let today = chrono::Utc::now().date_naive();
    let hoa =
        draft("001190007777", "Lê", "Thị", "Hòa", "1990-05-17", "Nữ", COMMUNE_A).validate(today).unwrap();
    let change = dancu_store::Change {
        actor: "test:setup".into(),
        reason: "x".into(),
        at: dancu_store::registry::now(),
    };
    app.store.create_citizen(&hoa, &change).await.unwrap();
    entitle(app, "bank", &[Operation::Verify], &[], &[Scope::Nation]).await;
    let t = partner_token(app, "bank", None).await;
    let a = app.citizen_a.personal_id.to_string();
    let v = |extra: Value| {
        let mut b = json!({"purpose": PURPOSE, "personal_id": a});
        for (k, x) in extra.as_object().unwrap() {
            b[k] = x.clone();
        }
        b
    };
    let (s, r) = call(
        app,
        &t,
        "verify",
        &v(json!({
            "full_name": "Nguyễn Văn Ấn", "date_of_birth": "15/03/1985", "sex": "M",
            "address": {"unit": format!("2025:{COMMUNE_A}"), "detail": "số 5 ngõ 12"}
        })),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["result"], "match");
    assert_eq!(r["life_status"], "alive");
    assert_eq!(r["fields"]["full_name"], json!({"result": "match", "mode": "exact"}));
    assert_eq!(r["fields"]["date_of_birth"], json!({"result": "match", "mode": "exact"}));
    assert_eq!(r["fields"]["sex"], json!({"result": "match", "mode": "exact"}));
    assert_eq!(r["fields"]["address"], json!({"result": "match", "mode": "folded"}));
    // Nothing else about the person is in the answer.
    let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["fields", "life_status", "personal_id", "result"]);

    let (_, r) =
        call(app, &t, "verify", &v(json!({"full_name": "NGUYEN VAN AN", "date_of_birth": "1985"}))).await;
    assert_eq!(r["fields"]["full_name"], json!({"result": "match", "mode": "folded"}));
    assert_eq!(r["fields"]["date_of_birth"], json!({"result": "match", "mode": "partial"}));
    assert_eq!(r["fields"]["sex"], json!({"result": "not_provided"}));
    assert_eq!(r["result"], "match");

    for enc in [Encoding::Tcvn3, Encoding::Vni] {
        let garbled = garble("Nguyễn Văn Ấn", enc);
        let (_, r) = call(app, &t, "verify", &v(json!({"full_name": garbled}))).await;
        assert_eq!(r["fields"]["full_name"], json!({"result": "match", "mode": "legacy_repair"}), "{enc:?}");
        let (_, r) = call(app, &t, "verify", &v(json!({"full_name": garbled, "name_mode": "exact"}))).await;
        assert_eq!(r["fields"]["full_name"], json!({"result": "mismatch"}), "{enc:?}");
        assert_eq!(r["result"], "mismatch");
    }
    let (_, r) = call(app, &t, "verify", &v(json!({"sex": "F", "date_of_birth": "1985-03-16"}))).await;
    assert_eq!(r["result"], "mismatch");
    assert_eq!(r["fields"]["sex"]["result"], "mismatch");
    assert_eq!(r["fields"]["date_of_birth"]["result"], "mismatch");
    let (_, r) = call(app, &t, "verify", &v(json!({"address": {"unit": format!("2025:{COMMUNE_B}")}}))).await;
    assert_eq!(r["fields"]["address"]["result"], "mismatch");
    let (_, r) = call(app, &t, "verify", &v(json!({}))).await;
    assert_eq!(r["result"], "id_only");

    let tone = json!({"purpose": PURPOSE, "personal_id": "001190007777", "full_name": "Lê Thị Hoà"});
    let (_, r) = call(app, &t, "verify", &tone).await;
    assert_eq!(r["fields"]["full_name"], json!({"result": "match", "mode": "tone_placement"}));
    let exact = json!({"purpose": PURPOSE, "personal_id": "001190007777", "full_name": "Lê Thị Hoà", "name_mode": "exact"});
    assert_eq!(call(app, &t, "verify", &exact).await.1["fields"]["full_name"]["result"], "mismatch");

    // Bad input names the field and the rule.
    let (s, r) = call(app, &t, "verify", &v(json!({"date_of_birth": "31/02/1985", "sex": "X"}))).await;
    assert_eq!(s, 422);
    let fields: Vec<&str> =
        r["error"]["violations"].as_array().unwrap().iter().map(|x| x["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["date_of_birth", "sex"]);
    let (s, _) = call(app, &t, "verify", &json!({"purpose": PURPOSE, "personal_id": "12' OR 1=1 --"})).await;
    assert_eq!(s, 422);

    // Every verification is audited under the person with the partner and the purpose.
    let log = audit(app, AuditFilter { subject: Some(a.clone()), ..Default::default() }).await;
    let mine: Vec<_> = log.iter().filter(|e| e.actor == "partner:bank").collect();
    assert!(mine.len() >= 7, "{mine:?}");
    assert!(mine.iter().all(|e| e.action == "partner.verify" && e.purpose == PURPOSE && e.outcome == "ok"));
}

async fn not_found_and_out_of_unit_answer_alike(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    entitle(app, "xa-a-only", &[Operation::Verify], &[], &[Scope::Commune(COMMUNE_A.into())]).await;
    let t = partner_token(app, "xa-a-only", None).await;
    let b = app.citizen_b.personal_id.to_string();
    let missing = "001085009999";
    let ask =
        |id: &str| json!({"purpose": PURPOSE, "personal_id": id, "full_name": "Trần Thị Bình", "sex": "F"});
    let (s1, mut outside) = call(app, &t, "verify", &ask(&b)).await;
    let (s2, mut absent) = call(app, &t, "verify", &ask(missing)).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(outside["result"], "not_found");
    outside["personal_id"] = json!("");
    absent["personal_id"] = json!("");
    assert_eq!(outside, absent, "outside the units must answer like not found");
    // In a batch too.
    let batch = json!({"purpose": PURPOSE, "records": [ask(&b).as_object().unwrap().iter().filter(|(k, _)| *k != "purpose").map(|(k, v)| (k.clone(), v.clone())).collect::<serde_json::Map<_, _>>(), {"personal_id": missing}]});
    let (_, r) = call(app, &t, "verify/batch", &batch).await;
    assert_eq!(r["results"][0]["result"], "not_found");
    assert_eq!(r["results"][1]["result"], "not_found");
    // Only the audit tells them apart.
    let log = audit(app, AuditFilter { subject: Some(b.clone()), ..Default::default() }).await;
    assert!(log.iter().any(|e| e.actor == "partner:xa-a-only" && e.outcome == "denied"), "{log:?}");
    let log = audit(app, AuditFilter { subject: Some(missing.into()), ..Default::default() }).await;
    assert!(log.iter().any(|e| e.actor == "partner:xa-a-only" && e.outcome == "not_found"));
}

/// Ninety single verifications at once (on PostgreSQL their reads are gathered into shared
/// queries): each answer is about the person asked for, and each call has its own audit entry.
async fn concurrent_verifications_each_get_their_own_answer(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    entitle(app, "xa-a-only", &[Operation::Verify], &[], &[Scope::Commune(COMMUNE_A.into())]).await;
    let t = partner_token(app, "xa-a-only", None).await;
    let (a, b) = (app.citizen_a.personal_id.to_string(), app.citizen_b.personal_id.to_string());
    let ids: Vec<String> = (0..90)
        .map(|i| match i % 3 {
            0 => a.clone(),
            1 => b.clone(),
            _ => format!("001085{:06}", 200_000 + i),
        })
        .collect();
    let url = format!("{}/api/v1/partner/verify", app.base);
    let reqs = ids
        .iter()
        .map(|id| (url.clone(), json!({"purpose": PURPOSE, "personal_id": id, "full_name": "Nguyễn Văn Ấn"})))
        .collect();
    for (i, (s, r)) in all_at_once(app, &t, reqs).await.into_iter().enumerate() {
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["personal_id"], ids[i], "answer {i} is about someone else: {r}");
        let want = if i % 3 == 0 { "match" } else { "not_found" };
        assert_eq!(r["result"], want, "{i}: {r}");
    }
    let log = audit(app, AuditFilter { actor: Some("partner:xa-a-only".into()), ..Default::default() }).await;
    let count = |outcome: &str, subject: &str| {
        log.iter()
            .filter(|e| e.action == "partner.verify" && e.outcome == outcome && e.subject == subject)
            .count()
    };
    assert_eq!(count("ok", &a), 30, "{log:?}");
    assert_eq!(count("denied", &b), 30, "{log:?}");
    let missing = log.iter().filter(|e| e.action == "partner.verify" && e.outcome == "not_found").count();
    assert_eq!(missing, 30, "{log:?}");
}

async fn a_batch_of_ten_thousand_in_one_call(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    entitle(app, "tax", &[Operation::Verify], &[], &[Scope::Nation]).await;
    let t = partner_token(app, "tax", None).await;
    let a = app.citizen_a.personal_id.to_string();
    let b = app.citizen_b.personal_id.to_string();
    let records: Vec<Value> = (0..10_000)
        .map(|i| match i % 100 {
            0 => json!({"personal_id": a, "full_name": "Nguyen Van An", "date_of_birth": "1985-03-15"}),
            1 => json!({"personal_id": b, "sex": "M"}),
            _ => json!({"personal_id": format!("001085{:06}", 100_000 + i)}),
        })
        .collect();
    let started = std::time::Instant::now();
    let (s, r) = call(app, &t, "verify/batch", &json!({"purpose": PURPOSE, "records": records})).await;
    let took = started.elapsed();
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["count"], 10_000);
    let results = r["results"].as_array().unwrap();
    assert_eq!(results.len(), 10_000);
    assert_eq!(results[0]["result"], "match");
    assert_eq!(results[0]["fields"]["full_name"]["mode"], "folded");
    assert_eq!(results[1]["result"], "mismatch");
    assert_eq!(results[2]["result"], "not_found");
    assert_eq!(results[9_901]["personal_id"], b.as_str());
    let found = results.iter().filter(|x| x["result"] != "not_found").count();
    assert_eq!(found, 200);
    eprintln!("{backend}: batch of 10,000 in {took:?} (debug build)");
    // One audit entry for the whole batch, filed under each person found.
    let batch_entries =
        audit(app, AuditFilter { actor: Some("partner:tax".into()), ..Default::default() }).await;
    let batch_entries: Vec<_> = batch_entries.iter().filter(|e| e.action == "partner.verify_batch").collect();
    assert_eq!(batch_entries.len(), 1);
    assert_eq!(batch_entries[0].subject, "batch:10000");
    let mut returned = batch_entries[0].returned.clone();
    returned.sort();
    assert_eq!(returned, [a.clone(), b.clone()]);
    // Over the limit: refused with its code, nothing read.
    let records: Vec<Value> =
        (0..10_001).map(|i| json!({"personal_id": format!("001085{:06}", i)})).collect();
    let (s, r) = call(app, &t, "verify/batch", &json!({"purpose": PURPOSE, "records": records})).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r["error"]["code"], "batch_too_large");
    // Stats: the outcomes are counted per partner, operation and purpose.
    let officer = app.token("xa_a").await;
    let stats = body(app.api_get(&officer, "/api/v1/partners/stats?client_id=tax").await).await;
    let n = |outcome: &str| {
        stats
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["outcome"] == outcome && c["purpose"] == PURPOSE && c["operation"] == "verify")
            .map(|c| c["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        (n("match"), n("mismatch"), n("not_found"), n("batch_too_large")),
        (100, 100, 9_800, 1),
        "{stats}"
    );
}

async fn card_lookup_from_a_garbled_qr(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let id = app.citizen_a.personal_id.to_string();
    // The citizen has an eID account with the health-insurance card linked to it.
    assert_eq!(register(app, &register_body(app)).await.status(), StatusCode::CREATED);
    let officer = app.token("xa_a").await;
    let r = app
        .post_json(
            &officer,
            format!("{}/api/v1/eid/accounts/{id}/documents", app.base),
            &json!({"kind": "health_insurance", "number": "DN4010112345678"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    entitle(
        app,
        "bv-bachmai",
        &[Operation::CardLookup],
        &[
            CardField::FullName,
            CardField::DateOfBirth,
            CardField::HealthInsuranceNumber,
            CardField::CardNumber,
        ],
        &[Scope::Province("01".into())],
    )
    .await;
    let t = partner_token(app, "bv-bachmai", None).await;
    let payload =
        format!("{id}||Nguyễn Văn Ấn|15031985|Nam|Số 5 ngõ 12, Phường Ba Đình, Thành phố Hà Nội|01022022");
    let garbled = garble(&payload, Encoding::Tcvn3);
    assert_ne!(garbled, payload);
    let (s, r) =
        call(app, &t, "card-lookup", &json!({"purpose": "khám chữa bệnh BHYT", "qr": garbled})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["result"], "found");
    assert_eq!(r["name_check"], json!({"result": "match", "mode": "legacy_repair"}));
    assert_eq!(r["date_of_birth_check"]["result"], "match");
    assert_eq!(r["sex_check"]["result"], "match");
    assert_eq!(
        r["fields"],
        json!({"full_name": "Nguyễn Văn Ấn", "date_of_birth": "1985-03-15", "health_insurance_number": "DN4010112345678", "card_number": null})
    );
    // A clean QR with another name: resolved by the ID, the name said not to match.
    let other = payload.replace("Nguyễn Văn Ấn", "Nguyễn Văn Bảo");
    let (_, r) = call(app, &t, "card-lookup", &json!({"purpose": "khám chữa bệnh BHYT", "qr": other})).await;
    assert_eq!(r["result"], "found");
    assert_eq!(r["name_check"]["result"], "mismatch");
    // By personal ID; outside the partner's units or missing: not found alike.
    let (_, r) =
        call(app, &t, "card-lookup", &json!({"purpose": "khám chữa bệnh BHYT", "personal_id": id})).await;
    assert_eq!(r["fields"]["health_insurance_number"], "DN4010112345678");
    assert!(r.get("name_check").is_none());
    let (s, r) =
        call(app, &t, "card-lookup", &json!({"purpose": "khám chữa bệnh BHYT", "qr": "not a payload"})).await;
    assert_eq!(s, 422);
    assert_eq!(r["error"]["violations"][0]["field"], "qr");
    let log = audit(app, AuditFilter { subject: Some(id.clone()), ..Default::default() }).await;
    assert_eq!(
        log.iter().filter(|e| e.actor == "partner:bv-bachmai" && e.action == "partner.card_lookup").count(),
        3
    );
    // The hospital's success rate is queryable.
    let stats = body(app.api_get(&officer, "/api/v1/partners/stats?client_id=bv-bachmai").await).await;
    let found: u64 = stats
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "found")
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(found, 3, "{stats}");
}

async fn refusals_have_codes_and_are_audited(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let a = app.citizen_a.personal_id.to_string();
    let ok = json!({"purpose": PURPOSE, "personal_id": a});
    // A client that is not a partner.
    let t = partner_token(app, "stranger", None).await;
    let (s, r) = call(app, &t, "verify", &ok).await;
    assert_eq!((s, r["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("partner_unknown")));
    // No token, a forged one.
    let r = app.client().post(format!("{}/api/v1/partner/verify", app.base)).json(&ok).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let (s, _) = call(app, "eyJhbGciOiJub25lIn0.e30.", "verify", &ok).await;
    assert_eq!(s, 401);
    // Purpose required.
    entitle(app, "ins", &[Operation::Verify], &[], &[Scope::Nation]).await;
    let t = partner_token(app, "ins", None).await;
    for bad in [
        json!({"personal_id": a}),
        json!({"purpose": "", "personal_id": a}),
        json!({"purpose": "x\u{7}yz", "personal_id": a}),
    ] {
        let (s, r) = call(app, &t, "verify", &bad).await;
        assert_eq!(s, 422, "{bad}");
        assert!(r["error"]["code"] == "validation_failed" || r["error"]["code"] == "invalid_body", "{r}");
    }
    let (s, r) = call(app, &t, "verify", &json!({"purpose": "", "personal_id": a})).await;
    assert_eq!(
        (s, r["error"]["violations"][0]["rule"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("partner.purpose_required"))
    );
    // Not entitled to card look-up; a token without the scope.
    let (s, r) = call(app, &t, "card-lookup", &json!({"purpose": PURPOSE, "personal_id": a})).await;
    assert_eq!((s, r["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("partner_not_entitled")));
    let narrow = partner_token(app, "ins2", Some("partner:card")).await;
    entitle(app, "ins2", &[Operation::Verify], &[], &[Scope::Nation]).await;
    let (s, r) = call(app, &narrow, "verify", &ok).await;
    assert_eq!((s, r["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("insufficient_scope")));
    // Suspended, then resumed.
    let admin = admin_access();
    app.state.registry.partner_set_suspended(&admin, "ins", true).await.unwrap();
    app.state.partners.forget("ins");
    let (s, r) = call(app, &t, "verify", &ok).await;
    assert_eq!((s, r["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("partner_suspended")));
    let officer = Access {
        actor: "officer:xa_a".into(),
        role: Role::Officer,
        scope: Scope::Nation,
        purpose: "x".into(),
    };
    assert!(
        app.state.registry.partner_set_suspended(&officer, "ins", false).await.is_err(),
        "administrators only"
    );
    app.state.registry.partner_set_suspended(&admin, "ins", false).await.unwrap();
    app.state.partners.forget("ins");
    assert_eq!(call(app, &t, "verify", &ok).await.0, 200);
    // Rate limit: 1 per second with a burst of 2.
    let mut p = app.state.registry.partner("ins").await.unwrap().unwrap();
    p.rate_per_sec = 1;
    p.burst = 2;
    app.state.registry.partner_entitle(&admin, &p).await.unwrap();
    app.state.partners.forget("ins");
    let mut statuses = Vec::new();
    let mut retry = None;
    for _ in 0..4 {
        let r = app.post_json(&t, format!("{}/api/v1/partner/verify", app.base), &ok).await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            assert_eq!(body(r).await["error"]["code"], "rate_limited");
        }
    }
    assert_eq!(&statuses[..2], [200, 200], "{statuses:?}");
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    // Every refusal is in the audit log under the partner.
    let refused = |who: &'static str| async move {
        audit(app, AuditFilter { actor: Some(format!("partner:{who}")), ..Default::default() }).await
    };
    // Refusals decided before the registry are queued, not waited for: give them a moment.
    let mut log = refused("ins").await;
    for _ in 0..50 {
        if log.iter().any(|e| e.subject == "refused:rate_limited") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        log = refused("ins").await;
    }
    for rule in ["refused:validation_failed", "refused:rate_limited"] {
        assert!(log.iter().any(|e| e.subject == rule && e.outcome == "refused"), "{rule}: {log:?}");
    }
    assert!(log.iter().any(|e| e.action == "partner.card_lookup" && e.outcome == "denied"));
    assert!(log
        .iter()
        .any(|e| e.action == "partner.verify" && e.subject == "partner:verify" && e.outcome == "denied"));
    assert!(refused("stranger").await.iter().any(|e| e.subject == "refused:partner_unknown"));
    assert!(refused("ins2").await.iter().any(|e| e.subject == "refused:insufficient_scope"));
}

async fn the_citizen_sees_the_partner_and_purpose(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let secret = approved(app).await;
    let mut jar = logged_in(app, &secret).await;
    entitle(
        app,
        "bv-bachmai",
        &[Operation::Verify, Operation::CardLookup],
        &[CardField::FullName],
        &[Scope::Nation],
    )
    .await;
    let t = partner_token(app, "bv-bachmai", None).await;
    let a = app.citizen_a.personal_id.to_string();
    call(app, &t, "card-lookup", &json!({"purpose": "khám bệnh ngoại trú", "personal_id": a})).await;
    let batch = json!({"purpose": "đối soát danh sách bảo hiểm", "records": [{"personal_id": a}, {"personal_id": app.citizen_b.personal_id.to_string()}]});
    assert_eq!(call(app, &t, "verify/batch", &batch).await.0, 200);
    let page = get(app, &mut jar, "/portal/access").await.text().await.unwrap();
    assert!(page.contains("Đối tác bv-bachmai"), "the partner's name: {page}");
    assert!(page.contains("khám bệnh ngoại trú") && page.contains("đối soát danh sách bảo hiểm"), "{page}");
    assert!(
        page.contains("Đối tác tra cứu thông tin thẻ") && page.contains("Đối tác xác thực thông tin theo lô")
    );
    // The batch's other person is not named to this citizen.
    assert!(!page.contains(app.citizen_b.personal_id.as_str()));
    // The partners page lists the partner, what it may do and its calls, in words.
    let admin = app.token("admin").await;
    let page = app.client().get(format!("{}/partners", app.base)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Đối tác bv-bachmai") && page.contains("Tra cứu thẻ (bệnh viện)"), "{page}");
    assert!(page.contains("khám bệnh ngoại trú") && page.contains("Tìm thấy"), "{page}");
    assert!(page.contains("data-testid=\"partner-entitle\""), "administrators get the form");
}

/// Two servers on one PostgreSQL database hold a partner to one rate: the calls of both
/// count in the database's window (SQLite has one server: its bucket is the limit).
async fn a_rate_limit_holds_across_servers(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    if backend != "postgres" {
        return;
    }
    entitle(app, "ins", &[Operation::Verify], &[], &[Scope::Nation]).await;
    let mut p = app.state.registry.partner("ins").await.unwrap().unwrap();
    // Each server's own bucket alone would allow 4 at once: together they allow 4 per 4 s.
    p.rate_per_sec = 1;
    p.burst = 4;
    entitle_partner(app, &p).await;
    let second = app.second_server().await;
    let t = partner_token(app, "ins", None).await;
    let ok = json!({"purpose": PURPOSE, "personal_id": app.citizen_a.personal_id.to_string()});
    let mut statuses = Vec::new();
    for i in 0..8 {
        let base = if i % 2 == 0 { app.base.clone() } else { second.clone() };
        let r = app.post_json(&t, format!("{base}/api/v1/partner/verify"), &ok).await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 4, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 4, "{statuses:?}");
    // With a burst of 40 each server takes its calls from the database in shares of 2; the
    // two together still allow exactly 40 in the window of 40 s (another partner, whose
    // buckets on both servers are full).
    entitle(app, "ins2", &[Operation::Verify], &[], &[Scope::Nation]).await;
    let mut p = app.state.registry.partner("ins2").await.unwrap().unwrap();
    p.rate_per_sec = 1;
    p.burst = 40;
    entitle_partner(app, &p).await;
    let t = partner_token(app, "ins2", None).await;
    let mut ok_calls = 0;
    for i in 0..50 {
        let base = if i % 2 == 0 { app.base.clone() } else { second.clone() };
        let r = app.post_json(&t, format!("{base}/api/v1/partner/verify"), &ok).await;
        ok_calls += usize::from(r.status() == 200);
    }
    assert_eq!(ok_calls, 40);
}
