//! The decision screens show the data the decision needs, and only the actions the current
//! state allows (on SQLite and PostgreSQL): duplicate pairs side by side with the differing
//! fields marked, listed before the figures; the eID approval with the claim next to the
//! registry record; card applications with the holder's name, the moves of their stage only,
//! and the appointment slip given at intake; documents in the Decree 30/2020 format; and a
//! nation-wide officer picking a commune by name.

use chrono::{Datelike, Duration, NaiveDate};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

on_both_backends!(
    duplicate_pairs_side_by_side_with_only_valid_decisions,
    eid_claim_next_to_the_record_and_actions_by_state,
    card_pages_name_the_holder_offer_the_stage_moves_and_a_slip,
    the_cmnd_confirmation_is_an_administrative_document,
    a_nation_wide_officer_picks_a_commune_by_name,
);

async fn get(app: &TestApp, user: &str, path: &str) -> (StatusCode, String) {
    let t = app.token(user).await;
    let r = app.api_get(&t, path).await;
    (r.status(), r.text().await.unwrap())
}

async fn post(app: &TestApp, user: &str, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let t = app.token(user).await;
    let r = app.client().post(format!("{}{path}", app.base)).bearer_auth(&t).form(form).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The `<tr …>` of the comparison row whose label is `label`, in the table `testid`.
fn compare_row<'a>(html: &'a str, testid: &str, label: &str) -> &'a str {
    let table =
        &html[html.find(&format!("data-testid=\"{testid}\"")).unwrap_or_else(|| panic!("{testid}"))..];
    let table = &table[..table.find("</table>").unwrap()];
    let at = table.find(&format!(">{label}")).unwrap_or_else(|| panic!("row {label} in {table}"));
    let start = table[..at].rfind("<tr").unwrap();
    let end = at + table[at..].find("</tr>").unwrap();
    &table[start..end]
}

async fn duplicate_pairs_side_by_side_with_only_valid_decisions(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let planted = crate::dedup::plant(app).await;
    let (st, html) = get(app, "xa_a", "/dedup").await;
    assert_eq!(st, StatusCode::OK);
    // The strong pair (both in commune A): the two records side by side.
    assert!(html.contains("data-testid=\"pair-records\""), "{html}");
    let name = compare_row(&html, "pair-records", "Họ và tên");
    assert!(
        name.contains("class=\"differs\"")
            && name.contains("Nguyễn Văn Ấn")
            && name.contains("Nguyen Van An"),
        "{name}"
    );
    let born = compare_row(&html, "pair-records", "Ngày sinh");
    assert!(!born.contains("class=\"differs\"") && born.contains("15/03/1985"), "{born}");
    let home = compare_row(&html, "pair-records", "Nơi thường trú");
    assert!(!home.contains("class=\"differs\"") && home.contains("Phường Ba Đình"), "{home}");
    // Pairs come before the figures.
    let first_pair = html.find("data-testid=\"pair\"").unwrap();
    assert!(first_pair < html.find("data-testid=\"dedup-statistics\"").unwrap());
    // The cross pair's record outside commune A stays masked: no side-by-side for it.
    assert_eq!(html.matches("data-testid=\"pair-records\"").count(), 1);
    assert!(!html.contains(app.citizen_b.personal_id.as_str()));
    // An open pair offers merge and reject; the cross pair (not decidable) neither.
    assert_eq!(html.matches("data-testid=\"merge\"").count(), 2, "one per record of the strong pair");
    assert_eq!(html.matches("data-testid=\"reject\"").count(), 1);
    assert!(!html.contains("data-testid=\"undo\""));

    // Rejected: no decision left to take.
    let cross = planted.cross.to_string();
    let (st, _) =
        post(app, "tinh01", &format!("/dedup/{cross}/reject"), &[("csrf", ""), ("reason", "hai người")])
            .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, rejected) = get(app, "tinh01", "/dedup?status=rejected").await;
    assert!(rejected.contains("data-testid=\"pair-decision\""), "{rejected}");
    for absent in ["merge", "reject", "undo"] {
        assert!(!rejected.contains(&format!("data-testid=\"{absent}\"")), "{absent} on a rejected pair");
    }
    // Merged: only an administrator is offered the undo.
    let keep = app.citizen_a.personal_id.to_string();
    let (st, _) =
        post(app, "xa_a", &format!("/dedup/{}/merge", planted.strong), &[("csrf", ""), ("keep", &keep)])
            .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, merged) = get(app, "xa_a", "/dedup?status=merged").await;
    assert!(
        !merged.contains("data-testid=\"undo\"") && !merged.contains("data-testid=\"merge\""),
        "{merged}"
    );
    let (_, merged) = get(app, "admin", "/dedup?status=merged").await;
    assert!(merged.contains("data-testid=\"undo\"") && !merged.contains("data-testid=\"merge\""), "{merged}");
}

async fn eid_claim_next_to_the_record_and_actions_by_state(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let id = app.citizen_a.personal_id.to_string();
    // Registered with the name typed without marks (accepted: names compare without them).
    let claim = json!({"personal_id": id, "full_name": "nguyen van an", "birth_date": "15/03/1985", "sex": "Nam",
        "phone": "0912 345 678", "portrait_captured": true, "password": "mat-khau-cong-dan-1"});
    let r = app
        .client()
        .post(format!("{}/api/v1/eid/registrations", app.base))
        .json(&claim)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());

    let page = format!("/eid/accounts/{id}");
    let (st, html) = get(app, "xa_a", &page).await;
    assert_eq!(st, StatusCode::OK);
    let name = compare_row(&html, "claim-vs-record", "Họ và tên");
    assert!(
        name.contains("class=\"differs\"")
            && name.contains("nguyen van an")
            && name.contains("Nguyễn Văn Ấn"),
        "{name}"
    );
    let born = compare_row(&html, "claim-vs-record", "Ngày sinh");
    assert!(!born.contains("class=\"differs\""), "{born}");
    assert_eq!(born.matches("15/03/1985").count(), 2, "{born}");
    let phone = compare_row(&html, "claim-vs-record", "Số điện thoại");
    assert!(phone.contains("0912345678") && !phone.contains("class=\"differs\""), "{phone}");
    // The API's account view carries the claim too.
    let t = app.token("xa_a").await;
    let v = body(app.api_get(&t, &format!("/api/v1/eid/accounts/{id}")).await).await;
    assert_eq!(v["claim"]["full_name"], "nguyen van an");
    assert_eq!(v["claim"]["birth_date"], "1985-03-15");

    // Waiting for approval: approve and lock, no unlock.
    assert!(
        html.contains("id=\"approve\"") && html.contains("id=\"lock\"") && !html.contains("id=\"unlock\"")
    );
    let (st, _) = post(
        app,
        "xa_a",
        &format!("{page}/actions"),
        &[("csrf", ""), ("action", "approve"), ("version", "1")],
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, html) = get(app, "xa_a", &page).await;
    assert!(!html.contains("id=\"approve\""), "no approval once approved");
    let lock = [("csrf", ""), ("action", "lock"), ("version", "2"), ("reason", "nghi bị lộ mật khẩu")];
    let (st, _) = post(app, "xa_a", &format!("{page}/actions"), &lock).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, html) = get(app, "xa_a", &page).await;
    assert!(
        html.contains("id=\"unlock\"") && !html.contains("id=\"lock\"") && !html.contains("id=\"upgrade\""),
        "locked"
    );
}

/// The `n`th working day after `d` (weekends and public holidays skipped, day by day on the
/// shipped calendar), counted here without `appointment_day` / `add_working_days`.
fn working_days_after(d: NaiveDate, n: u32) -> NaiveDate {
    let mut day = d;
    let mut left = n;
    while left > 0 {
        day += Duration::days(1);
        // Weekends, public holidays and announced days off do not count.
        if dancu_domain::WorkingCalendar::vietnam().is_working_day(day) {
            left -= 1;
        }
    }
    day
}

async fn card_pages_name_the_holder_offer_the_stage_moves_and_a_slip(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let id = app.citizen_a.personal_id.to_string();
    let form = [
        ("csrf", ""),
        ("personal_id", id.as_str()),
        ("kind", "first_issue"),
        ("reason", "cấp lần đầu"),
        ("biometrics_captured", "on"),
    ];
    let t = app.token("xa_a").await;
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirect.post(format!("{}/cards", app.base)).bearer_auth(&t).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?intake=1"), "{to}");
    let app_id: i64 = to.trim_start_matches("/cards/").trim_end_matches("?intake=1").parse().unwrap();

    // After intake: the slip is offered first; the holder is named.
    let (_, html) = get(app, "xa_a", &to).await;
    assert!(html.contains("data-testid=\"slip-link\"") && html.contains("Nguyễn Văn Ấn"), "{html}");
    // At intake with biometrics: send to production (or set aside), never skip ahead.
    assert!(html.contains("data-testid=\"move-sent_to_production\""));
    for absent in ["card_received", "handed_over"] {
        assert!(!html.contains(&format!("data-testid=\"move-{absent}\"")), "{absent} offered at intake");
    }
    // The board names the holder.
    let (_, board) = get(app, "xa_a", "/cards").await;
    assert!(board.contains("data-testid=\"holder-name\">Nguyễn Văn Ấn<"), "{board}");

    // The slip: a Decree 30 document with the appointment 7 working days after intake.
    let (st, slip) = get(app, "xa_a", &format!("/cards/{app_id}/slip")).await;
    assert_eq!(st, StatusCode::OK);
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let ready = working_days_after(today, 7).format("%d/%m/%Y").to_string();
    for want in [
        "CÔNG AN THÀNH PHỐ HÀ NỘI".to_string(),
        "CÔNG AN PHƯỜNG BA ĐÌNH".to_string(),
        format!("Số: {app_id}/GH-CAPBĐ"),
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".to_string(),
        "Độc lập - Tự do - Hạnh phúc".to_string(),
        format!("Hà Nội, ngày {:02} tháng {:02} năm {}", today.day(), today.month(), today.year()),
        "GIẤY HẸN TRẢ KẾT QUẢ".to_string(),
        format!("data-testid=\"slip-ready\"><b>{ready}</b>"),
        format!("data-testid=\"slip-intake\">{}<", today.format("%d/%m/%Y")),
        "CÁN BỘ TIẾP NHẬN".to_string(),
        "Cán bộ xa_a".to_string(),
        "Cấp mới".to_string(),
    ] {
        assert!(slip.contains(&want), "{want} missing from the slip: {slip}");
    }

    // Handed over: no move is left to offer.
    let tr = format!("{}/api/v1/card-applications/{app_id}/transitions", app.base);
    for (v, step) in [
        (1, json!({"to": "sent_to_production"})),
        (2, json!({"to": "card_received"})),
        (3, json!({"to": "handed_over", "handover_method": "in_person"})),
    ] {
        let mut step = step;
        step["expected_version"] = json!(v);
        let r = app.client().post(&tr).bearer_auth(&t).json(&step).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{step}");
    }
    let (_, html) = get(app, "xa_a", &format!("/cards/{app_id}")).await;
    assert!(!html.contains("data-testid=\"moves\"") && !html.contains("data-testid=\"move-"), "{html}");
}

async fn the_cmnd_confirmation_is_an_administrative_document(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let today = chrono::Utc::now().date_naive();
    let mut wife = draft("001187002222", "Lê", "Thị", "Hoa", "02/02/1987", "Nữ", COMMUNE_A);
    wife.cmnd = "012345678".into();
    let change = dancu_store::Change {
        actor: "test:setup".into(),
        reason: "dữ liệu".into(),
        at: dancu_store::registry::now(),
    };
    app.store.create_citizen(&wife.validate(today).unwrap(), &change).await.unwrap();
    let t = app.token("xa_a").await;
    let r = app.api_post(&t, "/api/v1/citizens/001187002222/cmnd-confirmations").await;
    let number = body(r).await["number"].as_str().unwrap().to_string();
    let (st, html) = get(app, "xa_a", &format!("/cmnd/{number}")).await;
    assert_eq!(st, StatusCode::OK);
    let day = dancu_domain::date::vietnam_today(chrono::Utc::now());
    for want in [
        "CÔNG AN PHƯỜNG BA ĐÌNH".to_string(),
        format!("Số: {number}/CAPBĐ"),
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".to_string(),
        "Độc lập - Tự do - Hạnh phúc".to_string(),
        format!("Hà Nội, ngày {:02} tháng {:02} năm {}", day.day(), day.month(), day.year()),
        "GIẤY XÁC NHẬN SỐ CHỨNG MINH NHÂN DÂN".to_string(),
        "02/02/1987".to_string(),
        "012345678".to_string(),
        "(Ký, ghi rõ họ tên)".to_string(),
        "Cán bộ xa_a".to_string(),
    ] {
        assert!(html.contains(&want), "{want} missing: {html}");
    }
}

async fn a_nation_wide_officer_picks_a_commune_by_name(backend: &'static str) {
    let app = &TestApp::start(backend).await;
    let id = app.citizen_b.personal_id.to_string();
    // Nation-wide: a text box with suggestions, not a select of every commune.
    let (_, html) = get(app, "admin", &format!("/citizens/{id}/address")).await;
    assert!(
        html.contains("<datalist id=\"communes-all\">") && html.contains("list=\"communes-all\""),
        "{html}"
    );
    assert!(html.contains("<option value=\"Phường Ba Đình, Thành phố Hà Nội\">"));
    assert!(!html.contains("<select id=\"permanent_unit\""));
    // The record's commune is shown by name.
    assert!(html.contains("value=\"Phường Ngọc Hà, Thành phố Hà Nội\""), "{html}");
    // A commune officer keeps the select of their own commune.
    let (_, own) = get(app, "xa_b", &format!("/citizens/{id}/address")).await;
    assert!(own.contains("<select id=\"permanent_unit\"") && !own.contains("communes-all"));

    // A name that names no commune: refused at its field, the typed name kept.
    let path = format!("/citizens/{id}/address");
    let mut form = vec![
        ("csrf", ""),
        ("expected_version", "1"),
        ("permanent_unit", "Phường Không Có"),
        ("permanent_detail", "Số 1 phố Huế"),
        ("temporary_unit", ""),
        ("temporary_detail", ""),
        ("current_unit", ""),
        ("current_detail", ""),
        ("reason", "chuyển nơi ở"),
    ];
    let (st, html) = post(app, "admin", &path, &form).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("data-testid=\"error-permanent_unit\"") && html.contains("value=\"Phường Không Có\""),
        "{html}"
    );
    // Picked by name (marks and case aside): saved as that commune.
    form[2] = ("permanent_unit", "phuong ba dinh, thanh pho ha noi");
    let (st, html) = post(app, "admin", &path, &form).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{html}");
    let stored = app.store.get_citizen(&app.citizen_b.personal_id).await.unwrap().unwrap();
    assert_eq!(stored.citizen.permanent.unwrap().unit.to_string(), "2025:00004");
}
