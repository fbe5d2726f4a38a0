//! Public-service applications over HTTP (issue 14 part 2): the lifecycle with its history,
//! idempotent submission, refused moves, an out-of-scope officer answered like "not found",
//! documents reused by hash, due dates on the working-day calendar, the queue and counts,
//! and many submissions and moves at once (combined into shared transactions by the store),
//! each answered on its own.

use crate::common::*;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    an_application_goes_from_submission_to_completion_with_its_history,
    the_same_idempotency_key_gives_back_the_first_application,
    invalid_moves_are_refused_with_the_rule_and_change_nothing,
    an_officer_out_of_scope_is_answered_like_not_found,
    a_document_digitised_before_is_reused_by_hash,
    the_queue_puts_overdue_first_and_the_counts_add_up,
    the_due_date_skips_public_holidays,
    a_citizen_applies_online_and_follows_the_application,
    the_officers_queue_is_the_open_work,
    fifty_submissions_and_moves_at_once_each_get_their_own_answer
);

fn rule(v: &Value) -> String {
    v["error"]["violations"][0]["rule"].as_str().unwrap_or_default().to_string()
}

fn url(app: &TestApp, tail: &str) -> String {
    format!("{}/api/v1/applications{tail}", app.base)
}

async fn submit(app: &TestApp, t: &str, pid: &str, service: &str, key: &str) -> (StatusCode, Value) {
    let b = json!({"personal_id": pid, "service_code": service, "idempotency_key": key});
    let r = app.post_json(t, url(app, ""), &b).await;
    (r.status(), body(r).await)
}

async fn move_to(
    app: &TestApp,
    t: &str,
    id: i64,
    to: &str,
    reason: &str,
    version: i64,
) -> (StatusCode, Value) {
    let b = json!({"to": to, "reason": reason, "expected_version": version});
    let r = app.post_json(t, url(app, &format!("/{id}/transitions")), &b).await;
    (r.status(), body(r).await)
}

async fn read(app: &TestApp, t: &str, id: i64) -> (StatusCode, Value) {
    let r = app.api_get(t, &format!("/api/v1/applications/{id}")).await;
    (r.status(), body(r).await)
}

fn today() -> chrono::NaiveDate {
    dancu_domain::date::vietnam_today(chrono::Utc::now())
}

async fn an_application_goes_from_submission_to_completion_with_its_history(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    let (st, a) = submit(app, &t, &pid, "cmnd_confirm", "k-1").await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["state"], "submitted");
    assert_eq!(a["channel"], "desk");
    assert_eq!(a["unit"], COMMUNE_A, "a commune-level service is handled by the applicant's commune");
    // Three working days on the Vietnamese calendar (weekends and holidays skipped).
    let due = dancu_domain::WorkingCalendar::vietnam().add_working_days(today(), 3);
    assert_eq!(a["due_date"], due.to_string());
    assert_eq!(a["overdue"], false);
    let id = a["id"].as_i64().unwrap();
    // A province-level service is handled by the province.
    let (_, p) = submit(app, &t, &pid, "passport", "k-2").await;
    assert_eq!(p["unit"], "01");

    let mut v = 1;
    for (to, reason) in [
        ("accepted", ""),
        ("in_process", ""),
        ("info_requested", "thiếu giấy xác nhận chỗ ở"),
        ("in_process", ""),
    ] {
        let (st, m) = move_to(app, &t, id, to, reason, v).await;
        assert_eq!(st, StatusCode::OK, "{to}: {m}");
        assert_eq!(m["state"], to);
        v += 1;
        assert_eq!(m["version"], v);
    }
    let (st, done) = move_to(app, &t, id, "completed", "", v).await;
    assert_eq!(st, StatusCode::OK, "{done}");
    assert_eq!(done["on_time"], true);
    assert!(done["decided_at"].is_string());

    let (st, file) = read(app, &t, id).await;
    assert_eq!(st, StatusCode::OK);
    let steps: Vec<_> =
        file["events"].as_array().unwrap().iter().map(|e| e["to_state"].as_str().unwrap()).collect();
    assert_eq!(steps, ["submitted", "accepted", "in_process", "info_requested", "in_process", "completed"]);
    assert_eq!(file["events"][3]["reason"], "thiếu giấy xác nhận chỗ ở");
    assert_eq!(file["events"][3]["actor"], "officer:xa_a");
    assert_eq!(file["allowed"], json!([]));
}

async fn the_same_idempotency_key_gives_back_the_first_application(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    let (st1, first) = submit(app, &t, &pid, "birth", "retry-me").await;
    let (st2, again) = submit(app, &t, &pid, "birth", "retry-me").await;
    assert_eq!((st1, st2), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(first["id"], again["id"]);
    // The same key for another service is not a retry: refused, nothing stored.
    let (st, e) = submit(app, &t, &pid, "death", "retry-me").await;
    assert_eq!((st, rule(&e)), (StatusCode::CONFLICT, "application.idempotency_key_reused".into()));
    let (st3, other) = submit(app, &t, &pid, "birth", "another").await;
    assert_eq!(st3, StatusCode::CREATED);
    assert_ne!(first["id"], other["id"]);
    let list = body(app.api_get(&t, "/api/v1/applications?service_code=birth").await).await;
    assert_eq!(list["total"], 2, "{list}");
    let all = body(app.api_get(&t, "/api/v1/applications").await).await;
    assert_eq!(all["total"], 2, "{all}");
}

async fn invalid_moves_are_refused_with_the_rule_and_change_nothing(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    let (_, a) = submit(app, &t, &pid, "vehicle_motorbike", "k").await;
    let id = a["id"].as_i64().unwrap();
    let (st, e) = move_to(app, &t, id, "completed", "", 1).await;
    assert_eq!(
        (st, rule(&e)),
        (StatusCode::UNPROCESSABLE_ENTITY, "application.transition_not_allowed".into())
    );
    let (st, e) = move_to(app, &t, id, "not_accepted", " ", 1).await;
    assert_eq!((st, rule(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "application.reason_required".into()));
    let (st, e) = move_to(app, &t, id, "accepted", "", 7).await;
    assert_eq!((st, rule(&e)), (StatusCode::CONFLICT, "application.stale_version".into()));
    let (st, e) = move_to(app, &t, id, "finished", "", 1).await;
    assert_eq!((st, rule(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "application.state_unknown".into()));
    let (_, file) = read(app, &t, id).await;
    assert_eq!((file["state"].as_str(), file["version"].as_i64()), (Some("submitted"), Some(1)));
    assert_eq!(file["events"].as_array().unwrap().len(), 1);
    // Not accepted with a reason: final.
    let (st, _) = move_to(app, &t, id, "not_accepted", "hồ sơ không thuộc thẩm quyền", 1).await;
    assert_eq!(st, StatusCode::OK);
    let (st, e) = move_to(app, &t, id, "accepted", "", 2).await;
    assert_eq!((st, rule(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "application.final_state".into()));
    // An unknown service and an online submission by an officer are refused.
    let (st, e) = submit(app, &t, &pid, "no_such_service", "k2").await;
    assert_eq!((st, rule(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "application.service_unknown".into()));
    let b = json!({"personal_id": pid, "service_code": "death", "channel": "online"});
    let r = app.post_json(&t, url(app, ""), &b).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rule(&body(r).await), "application.online_is_the_citizens");
}

async fn an_officer_out_of_scope_is_answered_like_not_found(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let ta = app.token("xa_a").await;
    let tb = app.token("xa_b").await;
    let pid = app.citizen_a.personal_id.to_string();
    let (_, a) = submit(app, &ta, &pid, "cmnd_confirm", "k").await;
    let id = a["id"].as_i64().unwrap();
    let (st_other, e_other) = read(app, &tb, id).await;
    let (st_missing, e_missing) = read(app, &tb, 12345).await;
    assert_eq!((st_other, st_missing), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(e_other, e_missing, "out of scope answers exactly like missing");
    let (st, _) = move_to(app, &tb, id, "accepted", "", 1).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let doc = json!({"kind": "other", "media_type": "application/pdf", "content_base64": "JVBERi0x"});
    let r = app.post_json(&tb, url(app, &format!("/{id}/documents")), &doc).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Nor can B submit for A's citizen, nor see A's applications in its queue or counts.
    let (st, _) = submit(app, &tb, &pid, "cmnd_confirm", "k-b").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let list = body(app.api_get(&tb, "/api/v1/applications").await).await;
    assert_eq!(list["total"], 0);
    let counts = body(app.api_get(&tb, "/api/v1/applications/counts").await).await;
    assert_eq!(counts, json!([]));
    // Nothing moved, and the refusals are in the access log as denied.
    let (_, file) = read(app, &ta, id).await;
    assert_eq!(file["version"], 1);
    let denied = body(app.api_get(&ta, &format!("/api/v1/citizens/{pid}/access-log?limit=100")).await).await;
    let outcomes: Vec<_> = denied["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "officer:xa_b")
        .map(|e| e["outcome"].as_str().unwrap().to_string())
        .collect();
    assert!(outcomes.iter().any(|o| o == "denied"), "{denied}");
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn a_document_digitised_before_is_reused_by_hash(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    let (_, a1) = submit(app, &t, &pid, "cmnd_confirm", "k1").await;
    let (_, a2) = submit(app, &t, &pid, "vehicle_motorbike", "k2").await;
    let pdf = b"%PDF-1.7\n hop dong thue nha";
    let doc = json!({"kind": "rental_contract", "media_type": "application/pdf", "content_base64": b64(pdf)});
    let r = app.post_json(&t, url(app, &format!("/{}/documents", a1["id"])), &doc).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let d1 = body(r).await;
    assert_eq!(d1["reused"], false);
    use sha2::Digest;
    assert_eq!(
        d1["sha256"],
        sha2::Sha256::digest(pdf).iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let r = app.post_json(&t, url(app, &format!("/{}/documents", a2["id"])), &doc).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(body(r).await["reused"], true, "the same file for the same citizen is not stored again");
    let stored =
        dancu_store::applications::stored_document_count(app.store.as_ref(), &app.citizen_a.personal_id)
            .await
            .unwrap();
    assert_eq!(stored, 1);
    let (_, file) = read(app, &t, a2["id"].as_i64().unwrap()).await;
    assert_eq!(file["documents"][0]["kind"], "rental_contract");

    // Wrong type, wrong content, bad base64: named errors, nothing attached.
    for (d, want) in [
        (
            json!({"kind": "photo", "media_type": "image/gif", "content_base64": b64(b"GIF89a")}),
            "document.media_type",
        ),
        (
            json!({"kind": "photo", "media_type": "image/png", "content_base64": b64(pdf)}),
            "document.content_mismatch",
        ),
        (json!({"kind": "photo", "media_type": "image/png", "content_base64": "***"}), "document.base64"),
        (
            json!({"kind": "Ảnh", "media_type": "application/pdf", "content_base64": b64(pdf)}),
            "document.kind",
        ),
    ] {
        let r = app.post_json(&t, url(app, &format!("/{}/documents", a1["id"])), &d).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(rule(&body(r).await), want);
    }
    // Larger than the request limit: 413.
    let big =
        json!({"kind": "scan", "media_type": "application/pdf", "content_base64": b64(&vec![b'%'; 200_000])});
    let r = app.post_json(&t, url(app, &format!("/{}/documents", a1["id"])), &big).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, file) = read(app, &t, a1["id"].as_i64().unwrap()).await;
    assert_eq!(file["documents"].as_array().unwrap().len(), 1);
}

async fn the_queue_puts_overdue_first_and_the_counts_add_up(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    let (_, fresh) = submit(app, &t, &pid, "vehicle_motorbike", "k1").await;
    let (_, late) = submit(app, &t, &pid, "cmnd_confirm", "k2").await;
    let late_id = late["id"].as_i64().unwrap();
    app.sql(&format!("UPDATE applications SET due_date = '2024-04-18' WHERE id = {late_id}")).await;

    let q = body(app.api_get(&t, "/api/v1/applications").await).await;
    assert_eq!(q["total"], 2);
    assert_eq!(q["items"][0]["id"], late_id, "soonest due first");
    assert_eq!(q["items"][0]["overdue"], true);
    assert_eq!(q["items"][1]["id"], fresh["id"]);
    assert_eq!(q["items"][1]["overdue"], false);
    let only = body(app.api_get(&t, "/api/v1/applications?overdue=true").await).await;
    assert_eq!(only["total"], 1);
    let r = app.api_get(&t, "/api/v1/applications?state=nope").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Decided after its due date: overdue for good.
    for (to, v) in [("accepted", 1), ("in_process", 2), ("completed", 3)] {
        assert_eq!(move_to(app, &t, late_id, to, "", v).await.0, StatusCode::OK);
    }
    let (_, done) = read(app, &t, late_id).await;
    assert_eq!((done["on_time"].as_bool(), done["overdue"].as_bool()), (Some(false), Some(false)));

    let counts = body(app.api_get(&t, "/api/v1/applications/counts").await).await;
    let rows = counts.as_array().unwrap();
    let total: u64 = rows.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 2);
    let late_row = rows.iter().find(|r| r["service_code"] == "cmnd_confirm").unwrap();
    assert_eq!(
        (&late_row["state"], &late_row["on_time"], &late_row["channel"], &late_row["unit"]),
        (&json!("completed"), &json!(false), &json!("desk"), &json!(COMMUNE_A))
    );
    // A leader sees the figures (the province officer sees both communes' too).
    let tp = app.token("tinh01").await;
    let c = body(app.api_get(&tp, "/api/v1/applications/counts").await).await;
    assert_eq!(c.as_array().unwrap().iter().map(|r| r["count"].as_u64().unwrap()).sum::<u64>(), 2);
}

async fn the_due_date_skips_public_holidays(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    // Received by post on Wednesday 29/04/2026: 30/04 and 01/05 are public holidays, then a
    // weekend, so the third working day is Wednesday 06/05 (weekdays alone would give 04/05).
    let b = json!({"personal_id": pid, "service_code": "cmnd_confirm", "channel": "post",
        "received_on": "2026-04-29", "idempotency_key": "post-1"});
    let r = app.post_json(&t, url(app, ""), &b).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let a = body(r).await;
    assert_eq!((a["due_date"].as_str(), a["channel"].as_str()), (Some("2026-05-06"), Some("post")));
    // The day received cannot be in the future.
    let tomorrow = today().succ_opt().unwrap().to_string();
    let b = json!({"personal_id": pid, "service_code": "cmnd_confirm", "received_on": tomorrow});
    let r = app.post_json(&t, url(app, ""), &b).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rule(&body(r).await), "application.received_on");
}

/// The form token on a portal page.
fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

pub(crate) fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..at + 64].to_string()
}

async fn a_citizen_applies_online_and_follows_the_application(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let mut jar = Jar::default();
    crate::pages::citizen(app, &t, &mut jar).await;
    let page = get(app, &mut jar, "/portal/applications").await.text().await.unwrap();
    let csrf = csrf_of(&page);
    // Only the residence procedures are offered online.
    let form = [("csrf", csrf.as_str()), ("service_code", "passport"), ("idempotency_key", "p1")];
    let r = post_form(app, &mut jar, "/portal/applications", &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A residence procedure is asked for with its own form.
    let form = [("csrf", csrf.as_str()), ("service_code", "residence_absence"), ("idempotency_key", "p1")];
    let r = post_form(app, &mut jar, "/portal/applications", &form).await;
    let to = r.headers()[reqwest::header::LOCATION].to_str().unwrap().to_string();
    assert_eq!(to, "/portal/applications/new/residence_absence");
    let form_page = get(app, &mut jar, &to).await.text().await.unwrap();
    assert!(form_page.contains("Nơi đến"), "{form_page}");
    let (from, until) = (
        today().format("%d/%m/%Y").to_string(),
        (today() + chrono::Duration::days(20)).format("%d/%m/%Y").to_string(),
    );
    let fields = |csrf: &str, until: &str| {
        vec![
            ("csrf".to_string(), csrf.to_string()),
            ("idempotency_key".into(), "p1".into()),
            ("payload.from".into(), from.clone()),
            ("payload.until".into(), until.to_string()),
            ("payload.destination".into(), "Đi học tại Hà Nội".into()),
        ]
    };
    let r = post_form(app, &mut jar, &to, &pairs(&fields("wrong", &until))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A refused form comes back with the refusal at its field and what was typed.
    let r = post_form(app, &mut jar, &to, &pairs(&fields(&csrf, "31/02/2027"))).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = r.text().await.unwrap();
    assert!(refused.contains("error-payload.until") && refused.contains("Đi học tại Hà Nội"), "{refused}");
    let r = post_form(app, &mut jar, &to, &pairs(&fields(&csrf, &until))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()[reqwest::header::LOCATION].to_str().unwrap().to_string();
    // Submitting the same form again (a double click) gives the same application.
    let again = post_form(app, &mut jar, &to, &pairs(&fields(&csrf, &until))).await;
    assert_eq!(again.headers()[reqwest::header::LOCATION].to_str().unwrap(), location);
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();

    // The officer of the commune sees it in the queue, submitted online; asks for more.
    let q = body(app.api_get(&t, "/api/v1/applications").await).await;
    assert_eq!(q["total"], 1);
    assert_eq!((q["items"][0]["id"].as_i64(), q["items"][0]["channel"].as_str()), (Some(id), Some("online")));
    for (to, reason, v) in
        [("accepted", "", 1), ("in_process", "", 2), ("info_requested", "cần hợp đồng thuê nhà", 3)]
    {
        assert_eq!(move_to(app, &t, id, to, reason, v).await.0, StatusCode::OK);
    }
    // The citizen follows it and says the information is supplied.
    let page = get(app, &mut jar, &location).await.text().await.unwrap();
    assert!(page.contains("Yêu cầu bổ sung") && page.contains("cần hợp đồng thuê nhà"), "{page}");
    let csrf = csrf_of(&page);
    let supply = [("csrf", csrf.as_str()), ("to", "in_process"), ("expected_version", "4")];
    let r = post_form(app, &mut jar, &format!("{location}/transitions"), &supply).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // A citizen cannot decide their own file.
    let decide = [("csrf", csrf.as_str()), ("to", "completed"), ("expected_version", "5")];
    let r = post_form(app, &mut jar, &format!("{location}/transitions"), &decide).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, file) = read(app, &t, id).await;
    assert_eq!((file["state"].as_str(), file["version"].as_i64()), (Some("in_process"), Some(5)));
    let actor = file["events"][4]["actor"].as_str().unwrap();
    assert_eq!(actor, format!("citizen:{}", app.citizen_a.personal_id));

    // Another person's application answers like a missing one.
    let pid_b = app.citizen_b.personal_id.to_string();
    let tb = app.token("xa_b").await;
    let (_, other) = submit(app, &tb, &pid_b, "birth", "b1").await;
    let r = get(app, &mut jar, &format!("/portal/applications/{}", other["id"])).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let mine = get(app, &mut jar, "/portal/applications").await.text().await.unwrap();
    assert!(
        mine.contains(&format!("/portal/applications/{id}"))
            && !mine.contains(&format!("/portal/applications/{}\"", other["id"]))
    );
}

/// The officer's page lists open applications unless every state is asked for; the API
/// filters them with `open=true`.
async fn the_officers_queue_is_the_open_work(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    let (_, open) = submit(app, &t, &pid, "cmnd_confirm", "open").await;
    let (_, done) = submit(app, &t, &pid, "vehicle_motorbike", "done").await;
    let done_id = done["id"].as_i64().unwrap();
    for (to, v) in [("accepted", 1), ("in_process", 2), ("completed", 3)] {
        assert_eq!(move_to(app, &t, done_id, to, "", v).await.0, StatusCode::OK);
    }
    let page = |path: &'static str| {
        let c = app.client();
        let t = t.clone();
        async move {
            c.get(format!("{}{path}", app.base)).bearer_auth(&t).send().await.unwrap().text().await.unwrap()
        }
    };
    let queue = page("/applications").await;
    assert!(queue.contains(&format!("/applications/{}", open["id"])), "{queue}");
    assert!(!queue.contains(&format!("/applications/{done_id}\"")), "a decided file is not work to do");
    let all = page("/applications?open=false").await;
    assert!(all.contains(&format!("/applications/{done_id}\"")));
    let api = body(app.api_get(&t, "/api/v1/applications?open=true").await).await;
    assert_eq!(api["total"], 1);
    assert_eq!(body(app.api_get(&t, "/api/v1/applications").await).await["total"], 2);
}

async fn fifty_submissions_and_moves_at_once_each_get_their_own_answer(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let pid = app.citizen_a.personal_id.to_string();
    let (st, first) = submit(app, &t, &pid, "birth", "dup").await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    let first_id = first["id"].as_i64().unwrap();

    // 50 submissions at once: 47 new, two retries of "dup" (the first application, once),
    // and "dup" reused for another service (refused, nothing stored).
    let sub = |service: &str, key: &str| {
        (url(app, ""), json!({"personal_id": pid, "service_code": service, "idempotency_key": key}))
    };
    let mut reqs: Vec<_> = (0..47).map(|i| sub("passport", &format!("k{i}"))).collect();
    reqs.insert(10, sub("birth", "dup"));
    reqs.insert(20, sub("death", "dup"));
    reqs.insert(30, sub("birth", "dup"));
    let answers = all_at_once(app, &t, reqs).await;
    let mut ids = Vec::new();
    for (i, (st, a)) in answers.iter().enumerate() {
        match i {
            10 | 30 => assert_eq!((*st, a["id"].as_i64()), (StatusCode::OK, Some(first_id)), "{i}: {a}"),
            20 => assert_eq!(
                (*st, rule(a)),
                (StatusCode::CONFLICT, "application.idempotency_key_reused".into())
            ),
            _ => {
                assert_eq!(
                    (*st, a["state"].as_str(), a["version"].as_i64()),
                    (StatusCode::CREATED, Some("submitted"), Some(1)),
                    "{i}: {a}"
                );
                ids.push(a["id"].as_i64().unwrap());
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 47, "47 distinct applications");

    // 50 moves at once: each new application accepted; the first one moved twice from the
    // same version (exactly one wins, the other is stale); a move the state machine forbids
    // and one from a version that never was are refused with their rule.
    let mv = |id: i64, to: &str, reason: &str, v: i64| {
        (url(app, &format!("/{id}/transitions")), json!({"to": to, "reason": reason, "expected_version": v}))
    };
    let mut reqs: Vec<_> = ids[..46].iter().map(|id| mv(*id, "accepted", "", 1)).collect();
    reqs.insert(3, mv(first_id, "accepted", "", 1));
    reqs.insert(17, mv(first_id, "not_accepted", "không thuộc thẩm quyền", 1));
    reqs.insert(33, mv(ids[46], "completed", "", 1));
    reqs.insert(40, mv(ids[46], "accepted", "", 7));
    let answers = all_at_once(app, &t, reqs).await;
    let mut first_moves = Vec::new();
    for (i, (st, a)) in answers.iter().enumerate() {
        match i {
            3 | 17 => first_moves.push((*st, a.clone())),
            33 => assert_eq!(
                (*st, rule(a)),
                (StatusCode::UNPROCESSABLE_ENTITY, "application.transition_not_allowed".into())
            ),
            40 => assert_eq!((*st, rule(a)), (StatusCode::CONFLICT, "application.stale_version".into())),
            _ => assert_eq!(
                (*st, a["state"].as_str(), a["version"].as_i64()),
                (StatusCode::OK, Some("accepted"), Some(2)),
                "{i}: {a}"
            ),
        }
    }
    let won: Vec<_> = first_moves.iter().filter(|(st, _)| *st == StatusCode::OK).collect();
    let lost: Vec<_> = first_moves.iter().filter(|(st, _)| *st == StatusCode::CONFLICT).collect();
    assert_eq!((won.len(), lost.len()), (1, 1), "{first_moves:?}");
    assert_eq!(rule(&lost[0].1), "application.stale_version");

    // What is stored is what was answered: each file's history has its own steps, with who
    // and why.
    let (_, file) = read(app, &t, first_id).await;
    assert_eq!(file["state"], won[0].1["state"]);
    let events = file["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{file}");
    assert_eq!(events[1]["to_state"], won[0].1["state"]);
    assert_eq!(events[1]["actor"], "officer:xa_a");
    let (_, refused) = read(app, &t, ids[46]).await;
    assert_eq!(
        (refused["state"].as_str(), refused["events"].as_array().unwrap().len()),
        (Some("submitted"), 1)
    );
    for id in &ids[..46] {
        let (_, f) = read(app, &t, *id).await;
        let steps: Vec<_> =
            f["events"].as_array().unwrap().iter().map(|e| e["to_state"].as_str().unwrap()).collect();
        assert_eq!(steps, ["submitted", "accepted"], "{id}");
    }
    let list = body(app.api_get(&t, "/api/v1/applications?limit=100").await).await;
    assert_eq!(list["total"], 48, "{list}");
}
