//! The officer's write screens over HTTP: refused forms come back filled in with each
//! violation at its field (in words, not as a rule code), and nothing half-done is stored;
//! household versions guard against lost updates in the pages and the API.

use crate::common::*;
use dancu_store::AuditFilter;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    a_newborn_is_registered_into_the_household_in_one_submit,
    a_bad_birth_date_keeps_the_form_filled_and_stores_nothing,
    a_refused_birth_stores_nothing_and_allocates_nothing,
    a_birth_failing_after_the_allocation_stores_nothing_and_burns_the_number,
    a_member_outside_the_scope_is_refused_and_the_household_unchanged,
    a_stale_household_version_answers_409_in_the_api_and_the_page,
    a_stale_record_edit_keeps_what_was_typed,
    a_split_moves_the_chosen_members_to_a_new_household,
    an_address_change_shows_in_the_history_diff,
);

/// Household HK1 with citizen A as its head, made through the API.
async fn household(app: &TestApp, token: &str) {
    let r = app
        .post_json(
            token,
            format!("{}/api/v1/households", app.base),
            &json!({"number": "HK1", "reason": "lập hộ", "members": [
                {"personal_id": app.citizen_a.personal_id.to_string(), "relation": "head"}]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn post(app: &TestApp, token: &str, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let r =
        app.client().post(format!("{}{path}", app.base)).bearer_auth(token).form(form).send().await.unwrap();
    let status = r.status();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or(r.text().await.unwrap()))
}

async fn page(app: &TestApp, token: &str, path: &str) -> String {
    let r = app.client().get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

async fn members(app: &TestApp, token: &str, number: &str) -> usize {
    let r =
        app.client().get(format!("{}/api/v1/households/{number}", app.base)).bearer_auth(token).send().await;
    body(r.unwrap()).await["members"].as_array().unwrap().len()
}

fn birth<'a>(date: &'a str, version: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", ""),
        ("family_name", "Nguyễn"),
        ("middle_name", "Minh"),
        ("given_name", "Khôi"),
        ("birth_date", date),
        ("sex", "M"),
        ("birth_place", "2025:00004"),
        ("province", "01"),
        ("household", "HK1"),
        ("household_version", version),
        ("relation", "child"),
        ("permanent_unit", "2025:00004"),
        ("permanent_detail", "Số 5 ngõ 12"),
        ("mother_name", "Lê Thị Hoa"),
        ("reason", "Đăng ký khai sinh"),
    ]
}

/// The personal IDs the officer was allocated (audit entries under each new number).
async fn allocated(app: &TestApp) -> Vec<String> {
    let f = AuditFilter { actor: Some("officer:xa_a".into()), limit: 1000, ..Default::default() };
    let page = app.store.list_audit(&f).await.unwrap();
    let mut ids: Vec<String> = page
        .items
        .iter()
        .filter(|e| e.entry.action == "personal_id.allocate" && e.entry.subject.len() == 12)
        .map(|e| e.entry.subject.clone())
        .collect();
    ids.dedup();
    ids
}

async fn a_newborn_is_registered_into_the_household_in_one_submit(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    household(app, &t).await;
    let (status, location) = post(app, &t, "/citizens/new-birth", &birth("15/01/2026", "1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let id = location.strip_prefix("/citizens/").unwrap().to_string();
    assert_eq!(allocated(app).await, vec![id.clone()]);
    let c = app.store.get_citizen(&id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!((c.household_no.as_deref(), c.citizen.name.full()), (Some("HK1"), "Nguyễn Minh Khôi".into()));
    assert_eq!(members(app, &t, "HK1").await, 2);
    // The child's page names the officer who created it and why.
    let html = page(app, &t, &location).await;
    assert!(html.contains("Cán bộ xa_a") && html.contains("Đăng ký khai sinh"), "{html}");
}

async fn a_bad_birth_date_keeps_the_form_filled_and_stores_nothing(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    household(app, &t).await;
    let (status, html) = post(app, &t, "/citizens/new-birth", &birth("31/02/2026", "1")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The violation is at its field, in words; what was typed is still there.
    assert!(html.contains(r#"data-testid="error-birth_date""#), "{html}");
    assert!(html.contains("ngày/tháng/năm") && !html.contains("date.format"), "{html}");
    for typed in ["value=\"31/02/2026\"", "value=\"Khôi\"", "value=\"Lê Thị Hoa\"", "value=\"HK1\""] {
        assert!(html.contains(typed), "{typed} lost");
    }
    assert!(html.contains(r#"<option value="M" selected>"#), "the sex chosen is kept");
    assert!(allocated(app).await.is_empty(), "no ID is allocated for a refused form");
    assert_eq!(members(app, &t, "HK1").await, 1);
}

async fn a_refused_birth_stores_nothing_and_allocates_nothing(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    household(app, &t).await;
    // Commune B's household is not commune A's officer's to add to.
    let tb = app.token("xa_b").await;
    let r = app
        .post_json(
            &tb,
            format!("{}/api/v1/households", app.base),
            &json!({"number": "HK9", "reason": "lập hộ", "members": [
                {"personal_id": app.citizen_b.personal_id.to_string(), "relation": "head"}]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // The household changed since the form was opened at version 7.
    let (status, html) = post(app, &t, "/citizens/new-birth", &birth("15/01/2026", "7")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains(r#"data-testid="form-error""#) && html.contains("value=\"Khôi\""), "{html}");
    // The child as a second head.
    let mut form = birth("15/01/2026", "");
    form.retain(|(k, _)| *k != "relation");
    form.push(("relation", "head"));
    assert_eq!(post(app, &t, "/citizens/new-birth", &form).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    // A household outside the officer's scope answers like a missing one.
    let mut form = birth("15/01/2026", "");
    form.retain(|(k, _)| *k != "household");
    form.push(("household", "HK9"));
    assert_eq!(post(app, &t, "/citizens/new-birth", &form).await.0, StatusCode::NOT_FOUND);

    assert!(allocated(app).await.is_empty(), "no ID is allocated for a refused birth");
    let r =
        app.client().get(format!("{}/api/v1/citizens?name=nguyen%20minh%20khoi", app.base)).bearer_auth(&t);
    assert_eq!(body(r.send().await.unwrap()).await["total"], 0, "no record was stored");
    assert_eq!(app.store.get_household("HK1").await.unwrap().unwrap().version, 1);
    assert_eq!(app.store.get_household("HK9").await.unwrap().unwrap().version, 1);

    // The registration that goes through allocates one number, never given out again.
    let (status, location) = post(app, &t, "/citizens/new-birth", &birth("15/01/2026", "1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let r = app
        .post_json(
            &t,
            format!("{}/api/v1/personal-ids", app.base),
            &json!({"province": "01", "sex": "M", "birth_year": 2026}),
        )
        .await;
    let next = body(r).await["personal_id"].as_str().unwrap().to_string();
    assert_ne!(format!("/citizens/{next}"), location);
}

async fn a_birth_failing_after_the_allocation_stores_nothing_and_burns_the_number(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    household(app, &t).await;
    // The database refuses any household update: the failure comes inside the store's
    // transaction, after the ID was allocated and the child's record inserted.
    let (refuse, allow) = match backend {
        "sqlite" => (
            "CREATE TRIGGER refuse BEFORE UPDATE ON households BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            "DROP TRIGGER refuse;",
        ),
        _ => (
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse BEFORE UPDATE ON households FOR EACH ROW EXECUTE FUNCTION refuse();",
            "DROP TRIGGER refuse ON households;",
        ),
    };
    app.sql(refuse).await;
    let (status, html) = post(app, &t, "/citizens/new-birth", &birth("15/01/2026", "1")).await;
    assert!(status.is_server_error(), "{status}: {html}");
    assert!(html.contains(r#"data-testid="form-error""#) && html.contains("value=\"Khôi\""), "{html}");
    let burned = allocated(app).await;
    assert_eq!(burned.len(), 1, "the number was allocated before the write failed");
    assert!(app.store.get_citizen(&burned[0].parse().unwrap()).await.unwrap().is_none(), "no record");
    let hk1 = app.store.get_household("HK1").await.unwrap().unwrap();
    assert_eq!((hk1.version, hk1.members.len()), (1, 1));

    // Once the database accepts again, the child gets a new number: the burned one is
    // never given out.
    app.sql(allow).await;
    let (status, location) = post(app, &t, "/citizens/new-birth", &birth("15/01/2026", "1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    assert_ne!(location, format!("/citizens/{}", burned[0]));
    assert_eq!(members(app, &t, "HK1").await, 2);
}

async fn a_member_outside_the_scope_is_refused_and_the_household_unchanged(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    household(app, &t).await;
    let b = app.citizen_b.personal_id.to_string();
    let form = [
        ("csrf", ""),
        ("expected_version", "1"),
        ("add_personal_id", b.as_str()),
        ("add_relation", "spouse"),
        ("add_reason", "kết hôn"),
    ];
    let (status, html) = post(app, &t, "/households/HK1/members", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains(r#"data-testid="error-add_personal_id""#), "{html}");
    assert!(!html.contains("household.member_unknown"), "no rule code on the page");
    assert!(
        html.contains(&format!("value=\"{b}\"")) && html.contains("value=\"kết hôn\""),
        "typed values kept"
    );
    assert_eq!(members(app, &t, "HK1").await, 1);
    assert_eq!(app.store.get_household("HK1").await.unwrap().unwrap().version, 1);
}

async fn a_stale_household_version_answers_409_in_the_api_and_the_page(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    household(app, &t).await;
    let a = app.citizen_a.personal_id.to_string();
    let put = |version: i64, reason: &'static str| {
        app.client().put(format!("{}/api/v1/households/HK1", app.base)).bearer_auth(&t).json(&json!({
            "number": "HK1", "reason": reason, "expected_version": version,
            "members": [{"personal_id": a, "relation": "head"}]}))
    };
    assert_eq!(put(1, "cập nhật").send().await.unwrap().status(), StatusCode::OK);
    let r = put(1, "cập nhật cũ").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(body(r).await["error"]["code"], "version_mismatch");
    assert_eq!(app.store.get_household("HK1").await.unwrap().unwrap().change_reason, "cập nhật");

    // The page's form opened at version 1 is refused the same way, what was typed kept.
    let d = draft("001201000777", "Phạm", "Minh", "Khôi", "2001-01-09", "Nam", COMMUNE_A);
    let r = app
        .post_json(
            &t,
            format!("{}/api/v1/citizens", app.base),
            &json!({"citizen": d, "reason": "đăng ký thường trú"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let form = [
        ("csrf", ""),
        ("expected_version", "1"),
        ("add_personal_id", "001201000777"),
        ("add_relation", "child"),
        ("add_reason", "nhập hộ"),
    ];
    let (status, html) = post(app, &t, "/households/HK1/members", &form).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    assert!(html.contains("phiên bản") && html.contains("value=\"nhập hộ\""), "{html}");
    assert_eq!(members(app, &t, "HK1").await, 1);
}

async fn a_stale_record_edit_keeps_what_was_typed(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let id = app.citizen_a.personal_id.to_string();
    let path = format!("/citizens/{id}/edit");
    let html = page(app, &t, &path).await;
    assert!(html.contains("value=\"15/03/1985\""), "the date is shown DD/MM/YYYY");
    let mut form = vec![
        ("csrf", ""),
        ("expected_version", "1"),
        ("family_name", "Nguyễn"),
        ("middle_name", "Văn"),
        ("given_name", "An"),
        ("birth_date", "15/03/1985"),
        ("sex", "M"),
        ("ethnicity", "01"),
        ("religion", "00"),
        ("nationality", "VN"),
        ("status", "alive"),
        ("reason", "sửa tên theo giấy khai sinh"),
    ];
    // No reason: refused at its field.
    form.retain(|(k, _)| *k != "reason");
    form.push(("reason", " "));
    let (status, html) = post(app, &t, &path, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"data-testid="error-reason""#) && html.contains("value=\"An\""), "{html}");

    form.pop();
    form.push(("reason", "sửa tên theo giấy khai sinh"));
    let (status, _) = post(app, &t, &path, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The same form again, from version 1: a conflict, the typed values kept.
    form.retain(|(k, _)| *k != "given_name");
    form.push(("given_name", "Ân"));
    let (status, html) = post(app, &t, &path, &form).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains(r#"data-testid="form-error""#) && html.contains("value=\"Ân\""), "{html}");
    let c = app.store.get_citizen(&app.citizen_a.personal_id).await.unwrap().unwrap();
    assert_eq!((c.version, c.citizen.name.given.as_str()), (2, "An"));
}

async fn a_split_moves_the_chosen_members_to_a_new_household(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    household(app, &t).await;
    for (given, date) in [("Khôi", "15/01/2026"), ("Lan", "16/01/2026")] {
        let mut f = birth(date, "");
        f.retain(|(k, _)| *k != "given_name");
        f.push(("given_name", given));
        assert_eq!(post(app, &t, "/citizens/new-birth", &f).await.0, StatusCode::SEE_OTHER);
    }
    let mut ids = Vec::new();
    for id in allocated(app).await {
        let c = app.store.get_citizen(&id.parse().unwrap()).await.unwrap().unwrap();
        ids.push((c.citizen.name.given.clone(), id));
    }
    ids.sort();
    let (k, l) = (ids[0].1.as_str(), ids[1].1.as_str());
    assert_eq!((ids[0].0.as_str(), ids[1].0.as_str()), ("Khôi", "Lan"));
    let form = [
        ("csrf", ""),
        ("expected_version", "3"),
        ("leave", k),
        ("leave", l),
        (&*format!("rel_{l}"), "sibling"),
        ("split_new_number", "HK2"),
        ("split_new_head", k),
        ("split_reason", "tách hộ"),
    ];
    let (status, location) = post(app, &t, "/households/HK1/split", &form).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/households/HK2"));
    assert_eq!(members(app, &t, "HK1").await, 1);
    let r = app.client().get(format!("{}/api/v1/households/HK2", app.base)).bearer_auth(&t).send().await;
    let hk2 = body(r.unwrap()).await;
    assert_eq!(hk2["head"], k);
    assert_eq!(hk2["members"].as_array().unwrap().len(), 2);
    // The old household's history shows who left.
    let html = page(app, &t, "/households/HK1").await;
    assert!(html.contains("Đã rời hộ") && html.contains("tách hộ"), "{html}");
}

async fn an_address_change_shows_in_the_history_diff(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let t = app.token("xa_a").await;
    let id = app.citizen_a.personal_id.to_string();
    let path = format!("/citizens/{id}/address");
    let html = page(app, &t, &path).await;
    assert!(html.contains("Phường Ba Đình"), "the commune is picked by name");
    let form = [
        ("csrf", ""),
        ("expected_version", "1"),
        ("permanent_unit", "2025:00004"),
        ("permanent_detail", "Số 9 phố Đội Cấn"),
        ("temporary_unit", ""),
        ("temporary_detail", ""),
        ("current_unit", ""),
        ("current_detail", ""),
        ("reason", "chuyển chỗ ở trong phường"),
    ];
    let (status, location) = post(app, &t, &path, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let html = page(app, &t, &location).await;
    assert!(html.contains("Số 5 ngõ 12, Phường Ba Đình"), "{html}");
    assert!(html.contains("Số 9 phố Đội Cấn, Phường Ba Đình"), "{html}");
    assert!(html.contains("chuyển chỗ ở trong phường"), "{html}");
}
