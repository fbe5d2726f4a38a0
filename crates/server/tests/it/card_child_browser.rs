//! A child's card in headless Chromium, on both backends: a commune officer takes in a
//! first issue for a ten-year-old, prints the appointment slip, moves the application to
//! hand-over, and the citizen page shows the card valid until the 14th birthday (Law on
//! Identification 2023, Art. 21(1)). The expected days are computed here from the birth
//! date, not by the code under test.

use chrono::{Datelike, Duration, NaiveDate};
use fantoccini::{Client, Locator};

use crate::browser::{browser, login, start_driver, text, text_until, wait_for, ONE_BROWSER};
use crate::common::*;

on_both_backends!(a_child_gets_a_card_valid_until_fourteen_in_chromium);

/// A birth date about ten years and a half before `today`, never on 29 February (whose
/// birthdays move in common years).
fn child_birth(today: NaiveDate) -> NaiveDate {
    let d = NaiveDate::from_ymd_opt(today.year() - 10, today.month(), 1).unwrap() - Duration::days(170);
    if d.month() == 2 && d.day() == 29 {
        d - Duration::days(1)
    } else {
        d
    }
}

async fn a_child_gets_a_card_valid_until_fourteen_in_chromium(backend: &'static str) {
    let _one = ONE_BROWSER.lock().await;
    let Some(driver) = start_driver() else { return };
    let app = TestApp::start(backend).await;
    let today = dancu_domain::date::vietnam_today(chrono::Utc::now());
    let born = child_birth(today);
    // A boy born in this century: century-and-sex digit 2.
    let id = format!("0012{:02}000777", born.year() % 100);
    let child = draft(&id, "Nguyễn", "Minh", "Khôi", &born.format("%d/%m/%Y").to_string(), "Nam", COMMUNE_A)
        .validate(chrono::Utc::now().date_naive())
        .unwrap();
    let change = dancu_store::Change {
        actor: "test:setup".into(),
        reason: "dữ liệu kiểm thử".into(),
        at: dancu_store::registry::now(),
    };
    app.store.create_citizen(&child, &change).await.unwrap();
    let c = browser(driver.port).await;
    let result = run(&c, &app, &id, born, today).await;
    let _ = c.close().await;
    result.unwrap_or_else(|e| panic!("{backend}: {e}"));
}

async fn run(c: &Client, app: &TestApp, id: &str, born: NaiveDate, today: NaiveDate) -> Result<(), String> {
    login(c, app, "xa_a", PASSWORD).await;
    wait_for(c, "[data-testid=current-user]").await;
    c.goto(&format!("{}/citizens/{id}", app.base)).await.unwrap();
    assert_eq!(text(c, "[data-testid=citizen-name]").await, "Nguyễn Minh Khôi");

    // Intake: a first issue, face and fingerprints taken (the child is over 6).
    c.find(Locator::Css("#intake-reason")).await.unwrap().send_keys("cấp thẻ cho trẻ em").await.unwrap();
    c.find(Locator::Css("#biometrics")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#intake-button")).await.unwrap().click().await.unwrap();
    let stage = text(c, "[data-testid=stage]").await;
    if !stage.starts_with("Thu nhận hồ sơ") {
        return Err(format!("after intake: {stage}"));
    }
    let application = c.current_url().await.unwrap();
    assert_eq!(application.query(), Some("intake=1"), "{application}");
    assert!(text(c, "[data-testid=holder-name]").await.starts_with("Nguyễn Minh Khôi"));

    // The appointment slip: 7 working days (no weekends or public holidays) after today.
    wait_for(c, "[data-testid=slip-link]").await.click().await.unwrap();
    let mut ready = today;
    let mut left = 7;
    while left > 0 {
        ready += Duration::days(1);
        if dancu_domain::WorkingCalendar::vietnam().is_working_day(ready) {
            left -= 1;
        }
    }
    assert_eq!(text(c, "[data-testid=slip-ready]").await, ready.format("%d/%m/%Y").to_string());
    assert_eq!(text(c, "[data-testid=slip-holder]").await, "Nguyễn Minh Khôi");
    assert_eq!(text(c, "[data-testid=doc-unit]").await, "CÔNG AN PHƯỜNG BA ĐÌNH");

    // To hand-over.
    c.goto(&format!("{}{}", app.base, application.path())).await.unwrap();
    for to in ["sent_to_production", "card_received", "handed_over"] {
        wait_for(c, &format!("[data-testid=move-{to}]")).await.click().await.unwrap();
    }
    let stage = text_until(c, "[data-testid=stage]", |t| t.starts_with("Đã trả")).await;
    if !stage.starts_with("Đã trả thẻ cho công dân") {
        return Err(format!("after hand-over: {stage}"));
    }

    // The card: issued today, valid until the 14th birthday.
    c.goto(&format!("{}/citizens/{id}", app.base)).await.unwrap();
    let fourteenth = NaiveDate::from_ymd_opt(born.year() + 14, born.month(), born.day()).unwrap();
    assert_eq!(text(c, "[data-testid=card-expiry]").await, fourteenth.format("%d/%m/%Y").to_string());
    assert_eq!(text(c, "[data-testid=card-status]").await, "Còn hiệu lực");
    Ok(())
}
